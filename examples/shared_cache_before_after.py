"""A shared result cache: before (check, compute, fill) and after (single-flight, frozen).

Standalone: copy the ``after`` half. Many threads asking a cache for the same missing key
all compute it when the check and the fill are separate steps; and handing every caller
the same mutable list lets one caller change what the others see::

    python examples/shared_cache_before_after.py

Nothing sleeps to widen the window between the check and the fill. A free-threaded build
runs the callers through it together by itself; on a GIL build both caches run under forced
interleaving (:func:`cortex.testing.preempt.preemption`: the GIL is handed to another thread
between bytecodes of this file at seeded random points).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from cortex.testing.preempt import preemption

THREADS = 8
SEEDS = 200  # forced-interleaving samples tried before giving up
DEPENDENCIES = {"nginx": ["libc6", "libssl3", "nginx-common", "zlib1g"]}
resolutions = 0
resolutions_lock = threading.Lock()  # guards `resolutions`


def resolve(package: str) -> list[str]:
    """Stands for a dependency resolution that runs `apt-cache` (worth caching)."""
    global resolutions
    with resolutions_lock:
        resolutions += 1
    return sorted(DEPENDENCIES[package] + [package])


# ---- before: check under the lock, let go, compute, fill under the lock again -----------
class CacheBefore:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards each access to _results, not the miss
        self._results: dict[str, list[str]] = {}

    def get(self, package: str) -> list[str]:
        with self._lock:
            if package in self._results:
                return self._results[package]  # the same mutable list for everybody
        closure = resolve(package)  # every thread that missed gets here
        with self._lock:
            self._results[package] = closure
        return closure


# ---- after: one computation per key in flight, immutable results --------------------------
class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: tuple[str, ...] = ()
        self.error: BaseException | None = None


class CacheAfter:
    def __init__(self) -> None:
        # Guards _results and _flights; never held while resolving.
        self._lock = threading.Lock()
        self._results: dict[str, tuple[str, ...]] = {}
        self._flights: dict[str, _Flight] = {}

    def get(self, package: str) -> tuple[str, ...]:
        with self._lock:
            if package in self._results:
                return self._results[package]
            flight = self._flights.get(package)
            leader = flight is None
            if flight is None:
                flight = self._flights[package] = _Flight()
        if leader:
            try:
                flight.result = tuple(resolve(package))  # a tuple: nobody can change it
                with self._lock:
                    self._results[package] = flight.result
            except BaseException as exc:
                flight.error = exc
                raise
            finally:
                with self._lock:
                    del self._flights[package]
                flight.done.set()
            return flight.result
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        return flight.result


def race(get: Callable[[str], object], seed: int = 0) -> int:
    """Release THREADS threads on get("nginx") at once; return how many resolutions ran."""
    global resolutions
    resolutions = 0
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        get("nginx")

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    # A hand-over releases the GIL, but a GIL build gives it back to the same thread unless
    # another one has asked for it, which a waiting thread does after the switch interval.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with preemption(probability=0.3, seed=seed, targets=["__main__"]):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(previous)
    return resolutions


if __name__ == "__main__":
    # Each seed is one sample of interleavings: a GIL build (3.10, 3.11 above all) may need a
    # few before the callers meet inside the window. A free-threaded build needs none.
    for seed in range(SEEDS):
        before_cache = CacheBefore()
        before = race(before_cache.get, seed)
        if before > 1:
            break
    after_cache = CacheAfter()
    after = race(after_cache.get)
    before_cache.get("nginx").append("surprise")  # one caller edits its answer...
    leaked = "surprise" in before_cache.get("nginx")  # ...and the next caller sees it
    print(
        f"before: {before} resolutions from {THREADS} threads (seed {seed}); "
        f"shared list edited: {leaked}"
    )
    print(f"after:  {after} resolution from {THREADS} threads; results are tuples")
    raise SystemExit(0 if before > 1 and after == 1 and leaked else 1)
