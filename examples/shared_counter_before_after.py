"""Shared hit/miss counters: before (read-modify-write) and after (one lock).

Standalone: copy the ``after`` class into your module. 8 threads released together each
record 300 cache look-ups; before the fix many of the 2,400 counts are lost, after it none::

    python examples/shared_counter_before_after.py

``self.hits += 1`` is a read, an addition and a write. Without the GIL two cores interleave
them freely. A GIL build never switches threads inside that statement, whatever
``sys.setswitchinterval`` says, so both classes run here under forced interleaving
(:func:`cortex.testing.preempt.preemption`: the GIL is handed to another thread between
bytecodes of this file at seeded random points). Neither class contains a sleep.
"""

from __future__ import annotations

import threading

from cortex.testing.preempt import preemption

THREADS = 8
LOOKUPS = 300


# ---- before: the pattern the audit found ---------------------------------------------
class CacheStatsBefore:
    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0

    def record(self, hit: bool) -> None:
        if hit:
            self.hits += 1  # read, add, write: another thread may read the same value
        else:
            self.misses += 1


# ---- after: the read and the write under one lock ---------------------------------------
class CacheStatsAfter:
    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()  # guards hits and misses

    def record(self, hit: bool) -> None:
        with self._lock:  # nobody else can be between the read and the write
            if hit:
                self.hits += 1
            else:
                self.misses += 1


def counted(stats: CacheStatsBefore | CacheStatsAfter) -> int:
    """Release THREADS threads recording LOOKUPS look-ups each; return how many were counted."""
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        for i in range(LOOKUPS):
            stats.record(hit=i % 2 == 0)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    with preemption(probability=0.3, seed=1, targets=["__main__"]):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return stats.hits + stats.misses


if __name__ == "__main__":
    expected = THREADS * LOOKUPS
    before = counted(CacheStatsBefore())
    after = counted(CacheStatsAfter())
    print(f"before: {before} of {expected} look-ups counted ({expected - before} lost)")
    print(f"after:  {after} of {expected} look-ups counted")
    raise SystemExit(0 if before < expected and after == expected else 1)
