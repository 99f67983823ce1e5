"""Run batches of LLM queries concurrently: a thread pool or asyncio, rate-limited, retried.

A drop-in for upstream Cortex's ``cortex.parallel_llm`` (same public names and return
types). What differs:

* **Two engines, one result.** ``"threads"`` runs each query's blocking
  :meth:`~cortex.llm_router.LLMRouter.complete` on a thread pool; ``"asyncio"`` awaits
  :meth:`~cortex.llm_router.LLMRouter.acomplete` on an event loop. The default follows the
  rollout plan: threads on a free-threaded build or with ``CORTEX_USE_FREE_THREADING=1``,
  asyncio otherwise or with ``CORTEX_USE_ASYNC=1`` (both at once is a
  :class:`~cortex.runtime.SettingsError`).
* **Nothing is bound to an event loop at construction.** Upstream created its asyncio
  semaphore and lock in ``__init__``; they bind to the first loop that waits on them, so
  the executor's second ``asyncio.run`` failed with "... is bound to a different event
  loop", and it could not run inside Jupyter's loop. Here the per-batch semaphore is made
  inside the coroutine that uses it, and the :class:`RateLimiter` uses a thread lock held
  only for arithmetic, so one executor serves many batches, threads and loops.
  :meth:`ParallelLLMExecutor.execute_batch` called from a running loop (a notebook) runs
  the batch on a fresh loop in a worker thread.
* **The rate limit allows bursts and still holds.** A sliding-window log
  (:class:`RateLimiter`): any 1-second window holds at most ``requests_per_second``
  starts, across every thread and loop, and up to that many start at once (upstream's
  token bucket also started a burst, but let twice the rate into one second).
* **Backoff is exponential with jitter** (upstream's was linear although documented as
  exponential).
* **Monitoring**: active workers, queue depth, rate-limit waits, retries and failures, per
  batch and in total, logged at INFO and returned by :meth:`ParallelLLMExecutor.stats`.

Concurrency defaults to ``CORTEX_THREAD_POOL_SIZE`` and the rate to
``CORTEX_RATE_LIMIT_RPS`` (``0`` turns the limit off); upstream's constructor defaults were
the literals 5 and 5.0.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cortex.llm.answers import PREFERRED_FORMAT
from cortex.llm_router import LLMProvider, LLMResponse, LLMRouter, TaskType
from cortex.runtime import RuntimeFacts, Settings, load_settings, runtime_facts

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "BatchResult",
    "BatchStats",
    "Engine",
    "ParallelLLMExecutor",
    "ParallelQuery",
    "ParallelResult",
    "RateLimiter",
    "choose_engine",
    "create_error_diagnosis_queries",
    "create_hardware_check_queries",
    "create_package_queries",
]

logger = logging.getLogger(__name__)

Engine = Literal["threads", "asyncio"]

DEFAULT_SYSTEM_PROMPT = (
    "You are a Debian/Ubuntu package manager. Give the apt commands that install the "
    "requested package. " + PREFERRED_FORMAT
)
"""Asks for the format :func:`cortex.llm.answers.parse_answer` reads best."""


@dataclass
class ParallelQuery:
    """One query of a batch."""

    id: str
    messages: list[dict[str, str]]
    task_type: TaskType = TaskType.USER_CHAT
    force_provider: LLMProvider | None = None
    temperature: float = 0.7
    max_tokens: int = 4096
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParallelResult:
    """What one query produced: a response, or the error after every retry."""

    query_id: str
    response: LLMResponse | None
    error: str | None = None
    success: bool = True
    execution_time: float = 0.0


@dataclass(frozen=True)
class BatchStats:
    """Monitoring figures of one batch."""

    batch_id: int
    engine: str
    queries: int
    succeeded: int
    failed: int
    retries: int
    rate_limit_waits: int
    rate_limit_wait_seconds: float
    peak_active_workers: int
    peak_queue_depth: int
    wall_time: float


@dataclass
class BatchResult:
    """Every result of a batch, in the order the queries were given."""

    results: list[ParallelResult]
    total_time: float
    total_tokens: int
    total_cost: float
    success_count: int
    failure_count: int
    stats: BatchStats | None = None
    """Monitoring figures (not in upstream's class; added at the end, with a default)."""

    def get_result(self, query_id: str) -> ParallelResult | None:
        """The result of the query with this id, if any."""
        return next((r for r in self.results if r.query_id == query_id), None)

    def successful_responses(self) -> list[LLMResponse]:
        """Responses of the queries that succeeded, in query order."""
        return [r.response for r in self.results if r.success and r.response is not None]


# --------------------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------------------


class RateLimiter:
    """At most ``requests_per_second`` starts in any 1-second window, bursts allowed.

    A **sliding-window log**: a start is granted when fewer than ``capacity`` starts were
    granted in the last ``window`` seconds, otherwise the caller waits until the oldest of
    them leaves the window. The window is 1 s by default and the capacity
    ``floor(rps x window)``, so any half-open 1-second window holds at most ``rps`` starts
    (a fractional rate is rounded down); below one start per window, one start is allowed
    per ``1 / rps`` seconds. (``window`` exists for benchmarks that run a situation
    faster: 50 starts/s in 0.1 s windows is 5/s in 1 s windows, ten times faster.)
    A burst of up to ``capacity`` starts goes out at once: five queries at the default
    5 rps start together. (A token bucket of capacity ``rps`` would not hold the window
    property: a full bucket plus one second of refill lets ``2 * rps`` starts into one
    second.)

    Grants are decided on one monotonic clock under one thread lock, held only to compare
    and update a few floats, never while sleeping, so the limiter is safe from any number
    of threads and event loops at once: :meth:`acquire` (a coroutine, as upstream) sleeps
    with ``asyncio.sleep``, :meth:`acquire_blocking` with ``time.sleep``.
    ``requests_per_second=0`` turns the limit off.

    Upstream's attributes keep their meaning: :attr:`rate` is the configured rate and
    :attr:`tokens` the starts available right now (``capacity`` when idle, one fewer per
    start).
    """

    def __init__(
        self, requests_per_second: float = 5.0, *, window: float = 1.0, history: int = 10_000
    ) -> None:
        if requests_per_second < 0 or math.isnan(requests_per_second):
            raise ValueError(f"requests_per_second must be >= 0, not {requests_per_second}")
        if not window > 0:
            raise ValueError(f"window must be > 0 seconds, not {window}")
        self.requests_per_second = requests_per_second
        rps = requests_per_second
        self.capacity: int
        """Starts allowed in one window; no limit when it is 0."""
        self.window: float
        """Length of the sliding window in seconds."""
        if not rps:
            self.capacity, self.window = 0, 0.0
        elif rps * window >= 1:
            self.capacity, self.window = math.floor(rps * window + 1e-9), window
        else:
            self.capacity, self.window = 1, 1.0 / rps
        # Guards _recent, _grants and the counters below.
        self._lock = threading.Lock()
        self._recent: collections.deque[float] = collections.deque()  # grants in the window
        self._grants: collections.deque[float] = collections.deque(maxlen=history)
        self.granted = 0
        self.waits = 0
        self.wait_seconds = 0.0

    @property
    def rate(self) -> float:
        """Upstream's name for ``requests_per_second``."""
        return self.requests_per_second

    def _expire(self, now: float) -> None:
        """Drop grants older than the window (caller holds the lock)."""
        while self._recent and now - self._recent[0] >= self.window:
            self._recent.popleft()

    @property
    def tokens(self) -> float:
        """Starts that may begin right now without waiting (upstream's token count)."""
        if not self.capacity:
            return math.inf
        with self._lock:
            self._expire(time.monotonic())
            return float(self.capacity - len(self._recent))

    @tokens.setter
    def tokens(self, value: float) -> None:
        """Make only ``value`` starts available now (upstream tests drain the bucket so)."""
        if not self.capacity:
            return
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            used = self.capacity - max(0, min(self.capacity, math.floor(value)))
            while len(self._recent) < used:
                self._recent.append(now)
            while len(self._recent) > used:
                self._recent.popleft()

    def _try_acquire(self) -> float:
        """Grant now and return 0, or return how long to wait before trying again."""
        with self._lock:
            now = time.monotonic()
            if self.capacity:
                self._expire(now)
                if len(self._recent) >= self.capacity:
                    return self._recent[0] + self.window - now
                self._recent.append(now)
            self._grants.append(now)
            self.granted += 1
            return 0.0

    def _count_wait(self, waited: float) -> None:
        with self._lock:
            self.waits += 1
            self.wait_seconds += waited

    def acquire_blocking(self) -> float:
        """Block until a start is allowed; return the seconds spent waiting."""
        waited = 0.0
        while True:
            delay = self._try_acquire()
            if delay <= 0:
                break
            time.sleep(delay)
            waited += delay
        if waited:
            self._count_wait(waited)
        return waited

    async def acquire(self) -> None:
        """Wait (without blocking the event loop) until a start is allowed."""
        await self.acquire_timed()

    async def acquire_timed(self) -> float:
        """As :meth:`acquire`; return the seconds spent waiting."""
        waited = 0.0
        while True:
            delay = self._try_acquire()
            if delay <= 0:
                break
            await asyncio.sleep(delay)
            waited += delay
        if waited:
            self._count_wait(waited)
        return waited

    def grant_times(self) -> list[float]:
        """``time.monotonic()`` of the most recent grants (oldest first)."""
        with self._lock:
            return list(self._grants)

    def snapshot(self) -> dict[str, float | int]:
        """Counters for monitoring."""
        with self._lock:
            return {
                "requests_per_second": self.requests_per_second,
                "capacity": self.capacity,
                "window_seconds": self.window,
                "granted": self.granted,
                "waits": self.waits,
                "wait_seconds": round(self.wait_seconds, 6),
            }


# --------------------------------------------------------------------------------------
# Engine choice
# --------------------------------------------------------------------------------------


def choose_engine(
    settings: Settings | None = None, facts: RuntimeFacts | None = None
) -> tuple[Engine, str]:
    """The default engine and why: settings first, then the build.

    Raises:
        SettingsError: a ``CORTEX_*`` value is invalid, or both engine flags are on.
    """
    settings = settings or load_settings()
    facts = facts or runtime_facts()
    if settings.use_free_threading:
        return "threads", "CORTEX_USE_FREE_THREADING=1"
    if settings.use_async:
        return "asyncio", "CORTEX_USE_ASYNC=1"
    if facts.free_threaded_build:
        return "threads", "free-threaded build"
    return "asyncio", "GIL build"


# --------------------------------------------------------------------------------------
# Monitoring
# --------------------------------------------------------------------------------------


class _BatchMonitor:
    """Counters of one batch; updates also feed the executor-wide gauges."""

    def __init__(self, executor: ParallelLLMExecutor, batch_id: int, queries: int) -> None:
        self.executor = executor
        self.batch_id = batch_id
        # Guards every counter below.
        self.lock = threading.Lock()
        self.queued = queries
        self.active = 0
        self.peak_active = 0
        self.peak_queued = queries
        self.retries = 0
        self.failures = 0
        self.rate_limit_waits = 0
        self.rate_limit_wait_seconds = 0.0
        executor._gauge(queued=queries)

        self.closed = False

    def start(self) -> bool:
        """Move one query from queued to active; ``False`` once the batch was abandoned."""
        with self.lock:
            if self.closed:
                return False
            self.queued -= 1
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
        self.executor._gauge(queued=-1, active=1)
        return True

    def close(self) -> None:
        """The batch is over (finished or cancelled): queries never started leave the gauge.

        Queries still running keep their ``active`` count until they return; none starts
        after this.
        """
        with self.lock:
            if self.closed:
                return
            self.closed = True
            never_started, self.queued = self.queued, 0
        if never_started:
            self.executor._gauge(queued=-never_started)

    def finished(self, success: bool) -> None:
        with self.lock:
            self.active -= 1
            self.failures += int(not success)
        self.executor._gauge(active=-1)

    def waited(self, seconds: float) -> None:
        with self.lock:
            self.rate_limit_waits += 1
            self.rate_limit_wait_seconds += seconds

    def retried(self) -> None:
        with self.lock:
            self.retries += 1


# --------------------------------------------------------------------------------------
# The executor
# --------------------------------------------------------------------------------------

_batch_ids = itertools.count(1)  # next() on a count is atomic: unique ids across threads


class ParallelLLMExecutor:
    """Runs batches of :class:`ParallelQuery` on a thread pool or on asyncio.

    Args:
        router: the :class:`~cortex.llm_router.LLMRouter` to call (default: a new one,
            which is offline unless a provider is configured).
        max_concurrent: queries in flight per batch; default ``CORTEX_THREAD_POOL_SIZE``.
        requests_per_second: starts per second across everything this executor runs;
            default ``CORTEX_RATE_LIMIT_RPS``; ``0`` turns the limit off.
        retry_failed: retry a failed query.
        max_retries: retries per query (so at most ``1 + max_retries`` attempts).
        engine: ``"threads"`` or ``"asyncio"``; default from :func:`choose_engine`.
        backoff_base: first retry delay in seconds; doubles on each retry.
        backoff_max: longest retry delay.
        settings: use these settings instead of reading the environment.

    One executor may run several batches at once, from several threads and event loops.
    """

    def __init__(
        self,
        router: LLMRouter | None = None,
        max_concurrent: int | None = None,
        requests_per_second: float | None = None,
        retry_failed: bool = True,
        max_retries: int = 2,
        *,
        engine: Engine | None = None,
        backoff_base: float = 0.25,
        backoff_max: float = 4.0,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or load_settings()
        self.router = router if router is not None else LLMRouter()
        self.max_concurrent = max_concurrent or settings.thread_pool_size
        if self.max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, not {self.max_concurrent}")
        rps = settings.rate_limit_rps if requests_per_second is None else requests_per_second
        self.rate_limiter = RateLimiter(rps)
        self.retry_failed = retry_failed
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        if engine is None:
            self.engine, self.engine_reason = choose_engine(settings)
        elif engine in ("threads", "asyncio"):
            self.engine, self.engine_reason = engine, "chosen by caller"
        else:
            raise ValueError(f"engine must be 'threads' or 'asyncio', not {engine!r}")
        # Guards the gauges and totals below, and _last_batch.
        self._stats_lock = threading.Lock()
        self._active = 0
        self._queued = 0
        self._peak_active = 0
        self._totals = {"batches": 0, "queries": 0, "succeeded": 0, "failed": 0, "retries": 0}
        self._last_batch: BatchStats | None = None

    # -- monitoring ----------------------------------------------------------------------

    def _gauge(self, *, queued: int = 0, active: int = 0) -> None:
        with self._stats_lock:
            self._queued += queued
            self._active += active
            self._peak_active = max(self._peak_active, self._active)

    def _finish_batch(
        self, monitor: _BatchMonitor, results: list[ParallelResult], started: float
    ) -> BatchResult:
        wall = time.perf_counter() - started
        ok = sum(r.success for r in results)
        stats = BatchStats(
            batch_id=monitor.batch_id,
            engine=self.engine,
            queries=len(results),
            succeeded=ok,
            failed=len(results) - ok,
            retries=monitor.retries,
            rate_limit_waits=monitor.rate_limit_waits,
            rate_limit_wait_seconds=round(monitor.rate_limit_wait_seconds, 6),
            peak_active_workers=monitor.peak_active,
            peak_queue_depth=monitor.peak_queued,
            wall_time=round(wall, 6),
        )
        with self._stats_lock:
            totals = self._totals
            totals["batches"] += 1
            totals["queries"] += stats.queries
            totals["succeeded"] += stats.succeeded
            totals["failed"] += stats.failed
            totals["retries"] += stats.retries
            self._last_batch = stats
        logger.info(
            "batch %d (%s): %d queries, %d ok, %d failed, %d retries, peak %d workers, "
            "%d rate-limit waits (%.2f s), %.2f s",
            stats.batch_id,
            stats.engine,
            stats.queries,
            stats.succeeded,
            stats.failed,
            stats.retries,
            stats.peak_active_workers,
            stats.rate_limit_waits,
            stats.rate_limit_wait_seconds,
            stats.wall_time,
        )
        responses = [r.response for r in results if r.response is not None]
        return BatchResult(
            results=results,
            total_time=wall,
            total_tokens=sum(r.tokens_used for r in responses),
            total_cost=sum(r.cost_usd for r in responses),
            success_count=ok,
            failure_count=len(results) - ok,
            stats=stats,
        )

    def stats(self) -> dict[str, Any]:
        """A snapshot for ``cortex doctor`` and logs: configuration, gauges, totals."""
        with self._stats_lock:
            last = asdict(self._last_batch) if self._last_batch is not None else None
            snapshot: dict[str, Any] = {
                "engine": self.engine,
                "engine_reason": self.engine_reason,
                "max_concurrent": self.max_concurrent,
                "active_workers": self._active,
                "queue_depth": self._queued,
                "peak_active_workers": self._peak_active,
                **self._totals,
                "last_batch": last,
            }
        limiter = self.rate_limiter.snapshot()
        snapshot["requests_per_second"] = limiter["requests_per_second"]
        snapshot["rate_limit_waits"] = limiter["waits"]
        snapshot["rate_limit_wait_seconds"] = limiter["wait_seconds"]
        return snapshot

    # -- one query -----------------------------------------------------------------------

    def backoff_delay(self, retry: int) -> float:
        """Delay before retry number ``retry`` (0-based): exponential, with equal jitter.

        The cap is ``min(backoff_max, backoff_base * 2**retry)``; the delay is uniform in
        ``[cap / 2, cap]``, so retries from many workers do not arrive together.
        """
        cap = min(self.backoff_max, math.ldexp(self.backoff_base, retry))
        return cap / 2 + random.uniform(0, cap / 2)  # noqa: S311 - jitter, not crypto

    @property
    def _attempts(self) -> int:
        return 1 + (self.max_retries if self.retry_failed else 0)

    @staticmethod
    def _error(exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}"

    def _run_one_sync(self, query: ParallelQuery, monitor: _BatchMonitor) -> ParallelResult:
        started = time.perf_counter()
        result = ParallelResult(query.id, None, "not attempted", False)
        if not monitor.start():
            result.error = "cancelled"
            return result
        try:
            for attempt in range(self._attempts):
                # A plain read of a flag only ever set to True: the batch was cancelled.
                if monitor.closed:
                    result.error = result.error or "cancelled"
                    break
                waited = self.rate_limiter.acquire_blocking()
                if waited:
                    monitor.waited(waited)
                try:
                    response = self.router.complete(
                        query.messages,
                        task_type=query.task_type,
                        force_provider=query.force_provider,
                        temperature=query.temperature,
                        max_tokens=query.max_tokens,
                    )
                except Exception as exc:  # reported in the result, as upstream
                    result = ParallelResult(query.id, None, self._error(exc), False)
                    if attempt + 1 < self._attempts:
                        monitor.retried()
                        time.sleep(self.backoff_delay(attempt))
                    continue
                result = ParallelResult(query.id, response, None, True)
                break
        finally:
            result.execution_time = time.perf_counter() - started
            monitor.finished(result.success)
        return result

    async def _run_one_async(
        self, query: ParallelQuery, monitor: _BatchMonitor, limit: asyncio.Semaphore
    ) -> ParallelResult:
        async with limit:
            started = time.perf_counter()
            result = ParallelResult(query.id, None, "not attempted", False)
            if not monitor.start():
                result.error = "cancelled"
                return result
            try:
                for attempt in range(self._attempts):
                    waited = await self.rate_limiter.acquire_timed()
                    if waited:
                        monitor.waited(waited)
                    try:
                        response = await self.router.acomplete(
                            query.messages,
                            task_type=query.task_type,
                            force_provider=query.force_provider,
                            temperature=query.temperature,
                            max_tokens=query.max_tokens,
                        )
                    except Exception as exc:  # reported in the result, as upstream
                        result = ParallelResult(query.id, None, self._error(exc), False)
                        if attempt + 1 < self._attempts:
                            monitor.retried()
                            await asyncio.sleep(self.backoff_delay(attempt))
                        continue
                    result = ParallelResult(query.id, response, None, True)
                    break
            finally:
                result.execution_time = time.perf_counter() - started
                monitor.finished(result.success)
            return result

    # -- batches -------------------------------------------------------------------------

    def _workers(self, queries: Sequence[ParallelQuery]) -> int:
        return max(1, min(self.max_concurrent, len(queries)))

    def _execute_threads(self, queries: Sequence[ParallelQuery]) -> BatchResult:
        started = time.perf_counter()
        monitor = _BatchMonitor(self, next(_batch_ids), len(queries))
        try:
            with ThreadPoolExecutor(
                self._workers(queries), thread_name_prefix="cortex-llm"
            ) as pool:
                results = list(pool.map(lambda q: self._run_one_sync(q, monitor), queries))
        finally:
            monitor.close()
        return self._finish_batch(monitor, results, started)

    async def _execute_async(
        self,
        queries: Sequence[ParallelQuery],
        on_complete: Callable[[ParallelResult], object] | None,
    ) -> BatchResult:
        started = time.perf_counter()
        monitor = _BatchMonitor(self, next(_batch_ids), len(queries))
        results: list[ParallelResult | None] = [None] * len(queries)

        async def run(index: int, job: asyncio.Future[ParallelResult]) -> None:
            result = await job
            results[index] = result
            if on_complete is not None:
                on_complete(result)

        try:
            if self.engine == "asyncio":
                # Created here, on the loop running this batch: never shared with another.
                limit = asyncio.Semaphore(self._workers(queries))
                jobs: list[asyncio.Future[ParallelResult]] = [
                    asyncio.ensure_future(self._run_one_async(q, monitor, limit)) for q in queries
                ]
                try:
                    await asyncio.gather(*(run(i, job) for i, job in enumerate(jobs)))
                finally:
                    for job in jobs:  # cancelled: no query outlives its batch
                        job.cancel()
            else:
                await self._gather_on_threads(queries, monitor, run)
        finally:
            monitor.close()
        return self._finish_batch(monitor, [r for r in results if r is not None], started)

    async def _gather_on_threads(
        self,
        queries: Sequence[ParallelQuery],
        monitor: _BatchMonitor,
        run: Callable[[int, asyncio.Future[ParallelResult]], Coroutine[Any, Any, None]],
    ) -> None:
        """The threads engine under a coroutine: cancelling it never blocks the loop.

        On cancellation the queries not yet started are dropped and the pool is shut down
        without waiting: its threads finish the requests already in flight (a blocking
        call cannot be interrupted) and exit on their own, off the event loop's thread.
        """
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(self._workers(queries), thread_name_prefix="cortex-llm")
        finished = False
        try:
            jobs = [
                asyncio.wrap_future(pool.submit(self._run_one_sync, q, monitor), loop=loop)
                for q in queries
            ]
            await asyncio.gather(*(run(i, job) for i, job in enumerate(jobs)))
            finished = True
        finally:
            # Every job is done when the gather finished, so waiting costs nothing then;
            # otherwise (cancelled, or a callback raised) never wait on the loop's thread.
            pool.shutdown(wait=finished, cancel_futures=True)

    async def execute_batch_async(self, queries: Sequence[ParallelQuery]) -> BatchResult:
        """Run ``queries`` from a coroutine, on this executor's engine; results in order."""
        return await self._execute_async(queries, None)

    async def execute_with_callback_async(
        self,
        queries: Sequence[ParallelQuery],
        on_complete: Callable[[ParallelResult], object] | None = None,
    ) -> BatchResult:
        """As :meth:`execute_batch_async`, calling ``on_complete(result)`` as each finishes.

        The callback runs on the event loop's thread, in completion order.
        """
        return await self._execute_async(queries, on_complete)

    def execute_batch(self, queries: Sequence[ParallelQuery]) -> BatchResult:
        """Run ``queries`` and wait; results in query order.

        Works from plain code, from several threads at once, and from inside a running
        event loop (Jupyter): there, an asyncio batch runs on a new loop in a worker thread.
        """
        if self.engine == "threads":
            return self._execute_threads(queries)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.execute_batch_async(queries))
        with ThreadPoolExecutor(1, thread_name_prefix="cortex-llm-loop") as helper:
            return helper.submit(asyncio.run, self.execute_batch_async(queries)).result()


# --------------------------------------------------------------------------------------
# Query builders
# --------------------------------------------------------------------------------------


def create_package_queries(
    packages: Sequence[str],
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    query_template: str = "Install {package}",
) -> list[ParallelQuery]:
    """One query per package, id ``pkg_<package>``, with the package in ``metadata``."""
    return [
        ParallelQuery(
            id=f"pkg_{package}",
            messages=[
                {"role": "system", "content": system_prompt},
                {"role": "user", "content": query_template.format(package=package)},
            ],
            task_type=TaskType.DEPENDENCY_RESOLUTION,
            metadata={"package": package},
        )
        for package in packages
    ]


def create_error_diagnosis_queries(
    errors: Sequence[str | Mapping[str, str]],
) -> list[ParallelQuery]:
    """One diagnosis query per error, id ``err_<id>``.

    An error is upstream's ``{"id": ..., "message": ...}`` (id ``err_<id>``) or a plain
    message (id ``err_<n>``, its position from 0). ``metadata`` holds ``error`` (the
    message) and upstream's ``original_error``.
    """
    queries = []
    for n, error in enumerate(errors):
        if isinstance(error, str):
            key, message, original = str(n), error, {"id": str(n), "message": error}
        else:
            key, message, original = str(error["id"]), error["message"], dict(error)
        queries.append(
            ParallelQuery(
                id=f"err_{key}",
                messages=[
                    {"role": "system", "content": "You diagnose Linux installation errors."},
                    {
                        "role": "user",
                        "content": f"Diagnose this error and suggest a fix: {message}",
                    },
                ],
                task_type=TaskType.ERROR_DEBUGGING,
                metadata={"error": message, "original_error": original},
            )
        )
    return queries


def create_hardware_check_queries(checks: Sequence[str]) -> list[ParallelQuery]:
    """One configuration query per hardware check, id ``hw_<check in lower case>``.

    ``metadata`` holds ``check`` and upstream's ``hardware_type`` (both the check).
    """
    return [
        ParallelQuery(
            id=f"hw_{check.lower()}",
            messages=[
                {"role": "system", "content": "You configure Linux drivers and hardware."},
                {"role": "user", "content": f"Check the configuration of: {check}"},
            ],
            task_type=TaskType.CONFIGURATION,
            metadata={"check": check, "hardware_type": check},
        )
        for check in checks
    ]
