"""Measurements of CPU-bound dependency resolution: one thread vs N threads vs N processes.

Shared by ``benchmarks/parallel_llm_bench.py`` and the ``09-cpu-scaling`` notebook. On a
GIL build N threads run one at a time (about 1x); processes reach what the cores give,
after paying to start, to load the index in each, and to copy every result back. On a
free-threaded build threads should approach processes without those costs: the gap is
what free threading buys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from cortex.dependency_resolver import (
    DependencyResolver,
    IndexSource,
    PackageIndex,
    ResolverPool,
    Summary,
    load_index,
    summarize,
)

__all__ = ["ScalingResult", "measure_scaling", "workload"]

T = TypeVar("T")


def workload(index: PackageIndex, count: int = 2_000) -> list[str]:
    """``count`` package names spread evenly over the sorted index (deterministic)."""
    names = sorted(index.packages)
    step = max(1, len(names) // count)
    return names[::step][:count]


@dataclass(frozen=True)
class ScalingResult:
    """Seconds for one workload on each engine, and whether all agreed."""

    packages: int
    workers: int
    index_source: str
    serial: float
    """One thread."""
    threads: float
    """``workers`` threads sharing one index."""
    processes: float
    """``workers`` warm processes, each with its own index, sending back summaries."""
    processes_full_results: float
    """The same, sending back every full closure (the copy a process pool cannot avoid)."""
    process_start: float
    """Seconds to start the pool and load the index in every worker (in no figure above)."""
    identical: bool

    @property
    def threads_speedup(self) -> float:
        """One thread's seconds over N threads' seconds."""
        return self.serial / self.threads

    @property
    def processes_speedup(self) -> float:
        """One thread's seconds over N warm processes' seconds."""
        return self.serial / self.processes

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the speed-ups."""
        return {
            **asdict(self),
            "threads_speedup": round(self.threads_speedup, 3),
            "processes_speedup": round(self.processes_speedup, 3),
        }


def _best(run: Callable[[], T], repeat: int) -> tuple[float, T]:
    result = run()  # warm-up, untimed
    fastest = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest, result


def measure_scaling(
    source: IndexSource,
    *,
    workers: int = 2,
    count: int = 2_000,
    include_recommends: bool = True,
    index: PackageIndex | None = None,
    repeat: int = 2,
) -> ScalingResult:
    """Resolve ``count`` packages on one thread, ``workers`` threads, ``workers`` processes.

    Every engine computes the same :func:`~cortex.dependency_resolver.summarize` of each
    closure. Each runs once untimed, then ``repeat`` times; the best time counts (the
    figure least disturbed by other work on the machine).
    """
    index = index or load_index(source)
    resolver = DependencyResolver(index, include_recommends=include_recommends)
    packages = workload(index, count)

    def one(package: str) -> Summary:
        return summarize(resolver.resolve(package))

    def threaded(items: Sequence[str]) -> list[Summary]:
        with ThreadPoolExecutor(workers, thread_name_prefix="resolve") as pool:
            return list(pool.map(one, items, chunksize=1))

    serial_s, serial = _best(lambda: [one(p) for p in packages], repeat)
    threads_s, in_threads = _best(lambda: threaded(packages), repeat)
    started = time.perf_counter()
    with ResolverPool(source, workers, include_recommends) as pool:
        pool.warm()
        start_s = time.perf_counter() - started
        processes_s, in_processes = _best(lambda: pool.summaries(packages), repeat)
        full_s, full = _best(lambda: pool.resolve_many(packages), 1)
    return ScalingResult(
        packages=len(packages),
        workers=workers,
        index_source=source.describe(),
        serial=serial_s,
        threads=threads_s,
        processes=processes_s,
        processes_full_results=full_s,
        process_start=start_s,
        identical=serial == in_threads == in_processes == [summarize(r) for r in full],
    )
