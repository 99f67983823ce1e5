"""Measurements of parallel LLM planning: sequential vs threads vs asyncio, rate limit, pools.

Shared by ``benchmarks/parallel_llm_bench.py`` and the ``08-parallel-llm`` notebook. Most
runs use the offline provider, whose simulated latency stands for a model's;
:func:`default_settings_runs` goes through the real HTTP path instead, to an
OpenAI-compatible server on 127.0.0.1 (:mod:`cortex.demos.model_server`). Nothing here
leaves the machine. Every figure should be printed with
:meth:`cortex.runtime.RuntimeFacts.banner`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cortex.demos.model_server import running_server
from cortex.dependency_resolver import PackageIndex, generate_index_text, parse_packages
from cortex.llm_router import LLMRouter
from cortex.parallel_llm import (
    Engine,
    ParallelLLMExecutor,
    RateLimiter,
    create_package_queries,
)
from cortex.runtime import load_settings
from cortex.utils.thread_utils import LazySingleton

__all__ = [
    "POPULAR_PACKAGES",
    "SEED_LATENCY",
    "SEED_PROJECTION",
    "EngineRow",
    "bench_index",
    "default_settings_runs",
    "max_starts_in_window",
    "pool_sweep",
    "rate_limited_run",
    "speedup_table",
    "time_engine",
    "time_sequential",
]

SEED_PROJECTION: dict[int, tuple[float, float]] = {5: (18.0, 10.0), 20: (70.0, 25.0)}
"""The seed's *projected* (never measured) seconds, sequential and parallel, by packages."""

SEED_LATENCY = 3.6
"""Seconds per model answer in the seed's situation (the scale of the default-settings runs)."""

POPULAR_PACKAGES: tuple[str, ...] = (
    "nginx", "redis", "postgresql", "docker", "nodejs", "git", "curl", "python3",
    "apache2", "mariadb-server", "postfix", "openssl", "npm", "mailutils", "iptables",
    "tzdata", "perl", "runc", "containerd", "tini", "libuv1", "netbase", "adduser",
    "debconf", "libssl3", "zlib1g", "libc6", "libpq5", "ssl-cert", "redis-tools",
    "iproute2", "exim4-base",
)  # fmt: skip
"""Package names every index (the machine's or the generated fixture) knows."""

_bench_index: LazySingleton[PackageIndex] = LazySingleton(
    lambda: parse_packages(generate_index_text(2_000), source="generated fixture (2000)"),
    name="benchmark index",
)


def bench_index() -> PackageIndex:
    """A small deterministic index for the offline provider (answers only need names)."""
    return _bench_index.get()


def _packages(count: int) -> list[str]:
    return [POPULAR_PACKAGES[i % len(POPULAR_PACKAGES)] for i in range(count)]


def _router(latency: float) -> LLMRouter:
    return LLMRouter(environ={}, index=bench_index(), offline_latency=latency)


def time_sequential(count: int, latency: float) -> float:
    """Seconds to ask for ``count`` packages one after another (upstream's old path)."""
    router = _router(latency)
    queries = create_package_queries(_packages(count))
    started = time.perf_counter()
    for query in queries:
        router.complete(query.messages, task_type=query.task_type)
    return time.perf_counter() - started


def time_engine(
    count: int,
    latency: float,
    engine: Engine,
    pool: int,
    rps: float = 0.0,
    *,
    window: float = 1.0,
) -> tuple[float, ParallelLLMExecutor]:
    """Seconds for one batch of ``count`` packages on ``engine``, and the executor used.

    ``rps`` starts are allowed per ``window`` seconds x ``rps`` (see
    :class:`~cortex.parallel_llm.RateLimiter`); ``0`` turns the limit off.
    """
    executor = ParallelLLMExecutor(
        _router(latency), pool, rps, engine=engine, settings=load_settings({})
    )
    if window != 1.0:
        executor.rate_limiter = RateLimiter(rps, window=window)
    queries = create_package_queries(_packages(count))
    started = time.perf_counter()
    batch = executor.execute_batch(queries)
    elapsed = time.perf_counter() - started
    if batch.failure_count:
        raise RuntimeError(f"{batch.failure_count} queries failed in a benchmark batch")
    return elapsed, executor


@dataclass(frozen=True)
class EngineRow:
    """Sequential, threads and asyncio seconds for one batch size."""

    packages: int
    pool: int
    sequential: float
    threads: float
    asyncio: float

    @property
    def ideal(self) -> int:
        """The best possible speed-up, ``min(packages, pool)``."""
        return min(self.packages, self.pool)

    @property
    def threads_speedup(self) -> float:
        """Sequential seconds over threads seconds."""
        return self.sequential / self.threads

    @property
    def asyncio_speedup(self) -> float:
        """Sequential seconds over asyncio seconds."""
        return self.sequential / self.asyncio

    @property
    def meets_target(self) -> bool:
        """Both engines reach 0.9 x the ideal speed-up."""
        target = 0.9 * self.ideal
        return self.threads_speedup >= target and self.asyncio_speedup >= target

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the derived figures."""
        return {
            **asdict(self),
            "ideal_speedup": self.ideal,
            "threads_speedup": round(self.threads_speedup, 3),
            "asyncio_speedup": round(self.asyncio_speedup, 3),
            "meets_target": self.meets_target,
        }


def speedup_table(
    sizes: Sequence[int] = (1, 3, 5, 10, 20), latency: float = 0.2, pool: int | None = None
) -> list[EngineRow]:
    """Sequential vs threads vs asyncio for each batch size, rate limit off."""
    pool = pool or load_settings().thread_pool_size
    rows = []
    for count in sizes:
        sequential = time_sequential(count, latency)
        threads, _ = time_engine(count, latency, "threads", pool)
        in_asyncio, _ = time_engine(count, latency, "asyncio", pool)
        rows.append(EngineRow(count, pool, sequential, threads, in_asyncio))
    return rows


def max_starts_in_window(grants: Sequence[float], window: float = 1.0) -> int:
    """The most starts inside any half-open window of ``window`` seconds."""
    times = sorted(grants)
    best, low = 0, 0
    for high, start in enumerate(times):
        while start - times[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


def rate_limited_run(
    rps: float, count: int = 40, latency: float = 0.2, engine: Engine = "threads", pool: int = 40
) -> dict[str, Any]:
    """One rate-limited batch: its time, the measured start rate and the busiest window.

    The first ``rps`` starts go out at once (a burst); the measured rate is that of the
    starts after the burst: how many over the time they took.
    """
    elapsed, executor = time_engine(count, latency, engine, pool, rps)
    grants = sorted(executor.rate_limiter.grant_times())
    burst = executor.rate_limiter.capacity
    span = grants[-1] - grants[0]
    measured = (len(grants) - burst) / span if span > 0 and len(grants) > burst else 0.0
    busiest = max_starts_in_window(grants, 1.0)
    return {
        "engine": engine,
        "packages": count,
        "limit_rps": rps,
        "seconds": round(elapsed, 3),
        "measured_rps": round(measured, 3),
        "max_starts_in_any_1s_window": busiest,
        "never_above_limit": busiest <= executor.rate_limiter.capacity,
    }


def pool_sweep(
    pools: Sequence[int] = (1, 2, 4, 8, 10, 12, 16, 20, 24, 32),
    *,
    count: int = 20,
    latency: float = 0.18,
    rps: float = 100.0,
    engine: Engine = "asyncio",
    repeat: int = 2,
    scale: float = 20.0,
) -> list[dict[str, float]]:
    """Batch seconds per pool size (best of ``repeat`` runs), for a rate-limited provider.

    The defaults are the seed's situation (about 3.6 s per answer, 5 requests/s) run
    ``scale`` = 20 times faster (the limiter's window is 1/20 s: 5 starts per 0.05 s):
    multiply the seconds by 20 to read them at the seed's scale. Pools of 4 or fewer run
    once (their batches are long and vary little).
    """
    rows = []
    window = 1.0 / scale
    for pool in pools:
        runs = 1 if pool <= 4 else repeat
        elapsed = min(
            time_engine(count, latency, engine, pool, rps, window=window)[0] for _ in range(runs)
        )
        rows.append({"pool": pool, "seconds": round(elapsed, 3)})
    return rows


def default_settings_runs(
    counts: Sequence[int] = (5, 20),
    *,
    scale: float = 10.0,
    engines: Sequence[Engine] = ("threads", "asyncio"),
    repeat: int = 3,
) -> dict[str, Any]:
    """What users get at the default settings, through the real HTTP path.

    A loopback OpenAI-compatible server answers (a sentence and a fenced block, as chat
    models do) after the seed's :data:`SEED_LATENCY` divided by ``scale``; the executor
    uses the documented defaults (``CORTEX_THREAD_POOL_SIZE``, ``CORTEX_RATE_LIMIT_RPS``),
    the rate limiter's window divided by ``scale`` (the default 5 starts per 1 s become 5
    per 0.1 s at ``scale=10``) so that the whole situation runs ``scale`` times faster:
    multiply the seconds by ``scale`` to read them at the seed's scale; speed-ups are
    unchanged by the scaling. Sequential is one request after another on the same
    server. Each parallel figure is the median of ``repeat`` batches, with the spread.
    ``peak_in_flight`` is counted by the server: the requests it was answering at once.
    """
    settings = load_settings({})  # the documented defaults, not this shell's variables
    latency = SEED_LATENCY / scale
    rps = settings.rate_limit_rps * scale
    rows: list[dict[str, Any]] = []
    with running_server(bench_index(), latency, style="fenced") as server:
        router = LLMRouter(environ={"OPENAI_BASE_URL": server.base_url})
        for count in counts:
            queries = create_package_queries(_packages(count))
            started = time.perf_counter()
            for query in queries:
                router.complete(query.messages, task_type=query.task_type)
            sequential = time.perf_counter() - started
            for engine in engines:
                times, peaks = [], []
                for _ in range(repeat):
                    executor = ParallelLLMExecutor(
                        router, settings.thread_pool_size, rps, engine=engine, settings=settings
                    )
                    # The default limit, time scaled: rps/scale starts per 1/scale seconds.
                    executor.rate_limiter = RateLimiter(rps, window=1.0 / scale)
                    server.reset_counts()
                    started = time.perf_counter()
                    batch = executor.execute_batch(queries)
                    times.append(time.perf_counter() - started)
                    peaks.append(server.peak_in_flight)
                    if batch.failure_count:
                        raise RuntimeError(f"{batch.failure_count} queries failed in a batch")
                median = statistics.median(times)
                rows.append(
                    {
                        "packages": count,
                        "engine": engine,
                        "sequential_s": round(sequential, 3),
                        "parallel_s": round(median, 3),
                        "parallel_min_s": round(min(times), 3),
                        "parallel_max_s": round(max(times), 3),
                        "repeats": repeat,
                        "speedup": round(sequential / median, 3),
                        "peak_in_flight": max(peaks),
                    }
                )
    return {
        "path": "HTTP: OpenAI-compatible provider -> loopback server on 127.0.0.1",
        "answer_style": "fenced",
        "scale": scale,
        "label": (
            f"seed's {SEED_LATENCY} s per answer and CORTEX_RATE_LIMIT_RPS="
            f"{settings.rate_limit_rps:g}, run {scale:g}x faster: {latency:.2f} s per answer, "
            f"{settings.rate_limit_rps:g} starts per {1 / scale:g} s"
        ),
        "latency_s": round(latency, 4),
        "limit_rps": rps,
        "default_rps": settings.rate_limit_rps,
        "pool": settings.thread_pool_size,
        "targets": {"5": 4.5, "20": 9.0},
        "rows": rows,
    }
