"""Lazy singleton: before (check-then-act) and after (double-checked locking).

Standalone: copy the ``after`` half into your module. Run it to see 8 threads released
together build many instances before the fix and exactly one after it::

    python examples/singleton_before_after.py

Nothing here sleeps. A free-threaded build lets two threads pass the check together by
itself; a GIL build rarely switches threads between the check and the assignment, so both
halves run under forced interleaving (:func:`cortex.testing.preempt.preemption`: the GIL is
handed to another thread between bytecodes of this file at seeded random points).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from cortex.testing.preempt import preemption

THREADS = 8
SEEDS = 200  # forced-interleaving samples tried before giving up
constructed = 0
constructed_lock = threading.Lock()  # guards `constructed`


class Detector:
    """Stands for a class whose constructor opens files or runs lspci: counts constructions."""

    def __init__(self) -> None:
        global constructed
        with constructed_lock:
            constructed += 1


# ---- before: the pattern the audit found ---------------------------------------------
_unsafe_detector: Detector | None = None


def get_detector_unsafe() -> Detector:
    global _unsafe_detector
    if _unsafe_detector is None:  # two threads can both see None here...
        _unsafe_detector = Detector()  # ...and both build one
    return _unsafe_detector


# ---- after: check, lock, check again ----------------------------------------------------
_detector: Detector | None = None
_detector_lock = threading.Lock()  # guards creation of _detector


def get_detector() -> Detector:
    global _detector
    if _detector is not None:  # fast path once created: no lock taken
        return _detector
    with _detector_lock:
        if _detector is None:  # another thread may have created it while we waited
            _detector = Detector()
        return _detector


def count_instances(getter: Callable[[], Detector], seed: int = 0) -> int:
    """Release THREADS threads on ``getter`` at once; return how many Detectors were built."""
    global constructed
    constructed = 0
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        getter()

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
    return constructed


if __name__ == "__main__":
    # Each seed is one sample of interleavings: a GIL build (3.10, 3.11 above all) may need a
    # few before two callers meet inside the window. A free-threaded build needs none.
    for seed in range(SEEDS):
        _unsafe_detector = None
        before = count_instances(get_detector_unsafe, seed)
        if before > 1:
            break
    after = count_instances(get_detector)
    print(f"before: {before} detectors from {THREADS} threads (seed {seed})")
    print(f"after:  {after} detector from {THREADS} threads")
    raise SystemExit(0 if before > 1 and after == 1 else 1)
