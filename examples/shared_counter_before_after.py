"""Shared hit/miss counters: before (read-modify-write) and after (one lock).

Standalone: copy the ``after`` class into your module. 100 threads released together each
record 50 cache look-ups; before the fix many of the 5,000 counts are lost, after it none::

    python examples/shared_counter_before_after.py

``self.hits += 1`` is a read, an addition and a write. Without the GIL two cores interleave
them freely; on a GIL build a thread switch between the read and the write does the same.
The ``before`` class makes that switch certain with a 10 µs sleep, so the loss shows on
every run and every interpreter.
"""

from __future__ import annotations

import sys
import threading
import time

THREADS = 100
LOOKUPS = 50


# ---- before: the pattern the audit found ---------------------------------------------
class CacheStatsBefore:
    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0

    def record(self, hit: bool) -> None:
        if hit:
            hits = self.hits  # read ...
            time.sleep(1e-5)  # ... another thread runs here and reads the same value ...
            self.hits = hits + 1  # ... and one of the two increments is lost
        else:
            misses = self.misses
            time.sleep(1e-5)
            self.misses = misses + 1


# ---- after: the read and the write under one lock ---------------------------------------
class CacheStatsAfter:
    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()  # guards hits and misses

    def record(self, hit: bool) -> None:
        with self._lock:
            if hit:
                hits = self.hits
                time.sleep(1e-5)  # the same window, now harmless: nobody else can enter
                self.hits = hits + 1
            else:
                misses = self.misses
                time.sleep(1e-5)
                self.misses = misses + 1


def counted(stats: CacheStatsBefore | CacheStatsAfter) -> int:
    """Release THREADS threads recording LOOKUPS look-ups each; return how many were counted."""
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        for i in range(LOOKUPS):
            stats.record(hit=i % 2 == 0)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads every microsecond on a GIL build
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    return stats.hits + stats.misses


if __name__ == "__main__":
    expected = THREADS * LOOKUPS
    before = counted(CacheStatsBefore())
    after = counted(CacheStatsAfter())
    print(f"before: {before} of {expected} look-ups counted ({expected - before} lost)")
    print(f"after:  {after} of {expected} look-ups counted")
    raise SystemExit(0 if before < expected and after == expected else 1)
