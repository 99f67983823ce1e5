"""Shared-state races in the database-backed modules: the unsafe twins beside their fixes.

Each twin keeps the upstream pattern runnable so a test can prove it catches the race:

* :class:`UnsafeCountingCache` -- hit and miss counters updated with ``self.hits += 1``
  (a read, a switch to another thread, a write: concurrent updates are lost), and a
  ``get_or_compute`` without single-flight (N threads missing together call the LLM N
  times).
* :class:`UnsafeFailureTracker` -- ``graceful_degradation``'s failure counter and mode
  switch as unsynchronised read-modify-writes.
* :class:`UnsafeContextMemory` -- ``context_memory``'s insert and pattern update as two
  transactions on two connections, the pattern frequency read, then written.
* :class:`LostCommitLimitsDatabase` -- the pooled ``accelerator_limits``/``kv_cache_manager``
  writes that were never committed.
* :class:`PerCallConnectionCache` -- a new connection for every look-up, as upstream's
  cache opened one per call (correct, but slow); the benchmark's baseline.

The twins contain no sleep and no other widening. :func:`counter_model` and
:func:`failure_model` let :mod:`cortex.demos.interleavings` choose the thread switches,
between any two bytecodes; the context-memory twin shows its lost update with real threads,
because SQLite releases the GIL while it reads and writes the file. Nothing here is used by
the application.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cortex.context_memory import MemoryEntry
from cortex.demos.harness import run_together
from cortex.demos.interleavings import STRESS_OPERATIONS, STRESS_THREADS, start_together
from cortex.demos.measure import ns_per_call
from cortex.kernel_features.accelerator_limits import ResourceLimits
from cortex.semantic_cache import CacheStats

__all__ = [
    "CounterOutcome",
    "CountingCache",
    "FailureCounter",
    "FlightOutcome",
    "LostCommitLimitsDatabase",
    "PerCallConnectionCache",
    "UnsafeContextMemory",
    "UnsafeCountingCache",
    "UnsafeFailureTracker",
    "counter_cost_ns",
    "counter_model",
    "counter_stress_model",
    "failure_model",
    "failure_stress_model",
    "lookup_rate",
    "race_counters",
    "race_failures",
    "race_single_flight",
]

PROVIDER, MODEL, SYSTEM = "demo-provider", "demo-model", "You turn requests into apt commands."


# --------------------------------------------------------------------------------------
# The semantic cache's counters and LLM calls
# --------------------------------------------------------------------------------------


class CountingCache(Protocol):
    """What the counter and single-flight races need from a cache."""

    def get_commands(
        self, prompt: str, provider: str, model: str, system_prompt: str
    ) -> list[str] | None:
        """Cached commands or ``None``; counts a hit or a miss."""
        ...

    def put_commands(
        self, prompt: str, provider: str, model: str, system_prompt: str, commands: list[str]
    ) -> None:
        """Store commands."""
        ...

    def get_or_compute(
        self,
        prompt: str,
        provider: str,
        model: str,
        system_prompt: str,
        compute: Callable[[], list[str]],
    ) -> list[str]:
        """Cached commands, or ``compute()``'s."""
        ...

    def stats(self) -> CacheStats:
        """Hits and misses so far."""
        ...


class UnsafeCountingCache:
    """The unsafe twin: an in-memory cache with upstream-style unsynchronised counters.

    Do not use; it exists to be caught. ``self.hits += 1`` is a read, an addition and a
    write: the shape of upstream's counters (``cortex/llm_router.py`` line 397,
    ``self.request_count += 1``; ``cortex/graceful_degradation.py`` line 372).
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str, str], list[str]] = {}
        self.hits = 0
        self.misses = 0

    def get_commands(
        self, prompt: str, provider: str, model: str, system_prompt: str
    ) -> list[str] | None:
        """Look up, then count with a racy read-modify-write."""
        found = self._entries.get((provider, model, system_prompt, prompt))
        if found is not None:
            self.hits += 1
            return list(found)
        self.misses += 1
        return None

    def put_commands(
        self, prompt: str, provider: str, model: str, system_prompt: str, commands: list[str]
    ) -> None:
        """Store commands."""
        self._entries[(provider, model, system_prompt, prompt)] = list(commands)

    def get_or_compute(
        self,
        prompt: str,
        provider: str,
        model: str,
        system_prompt: str,
        compute: Callable[[], list[str]],
    ) -> list[str]:
        """Check, then compute and store: every thread that missed calls ``compute``."""
        found = self.get_commands(prompt, provider, model, system_prompt)
        if found is not None:
            return found
        result = compute()
        self.put_commands(prompt, provider, model, system_prompt, result)
        return result

    def stats(self) -> CacheStats:
        """The counters as they are."""
        return CacheStats(self.hits, self.misses)


@dataclass(frozen=True)
class CounterOutcome:
    """Lookups made and lookups counted."""

    expected_hits: int
    expected_misses: int
    hits: int
    misses: int

    @property
    def lost(self) -> int:
        """Look-ups that were made but not counted."""
        return self.expected_hits + self.expected_misses - self.hits - self.misses

    @property
    def exact(self) -> bool:
        """True when every hit and every miss was counted."""
        return (self.hits, self.misses) == (self.expected_hits, self.expected_misses)


def race_counters(
    cache: CountingCache, *, threads: int = 100, lookups_per_thread: int = 20
) -> CounterOutcome:
    """Release ``threads`` threads, each alternating a hit and a miss; compare the counts.

    Ten prompts are stored first; each miss asks for a package that was never stored (so
    no similarity rule can serve it). The OS schedules the threads: this checks a fix under
    real contention; :func:`counter_model` is what shows the twin's race.
    """
    cached = [f"install demo-package-{k}" for k in range(10)]
    for prompt in cached:
        cache.put_commands(prompt, PROVIDER, MODEL, SYSTEM, [f"sudo apt install {prompt[8:]}"])
    before = cache.stats()

    def work(index: int) -> None:
        for j in range(lookups_per_thread):
            if j % 2 == 0:
                prompt = cached[(index + j) % len(cached)]
            else:
                prompt = f"install missing-{index}-{j}"
            cache.get_commands(prompt, PROVIDER, MODEL, SYSTEM)

    run_together(work, threads)
    after = cache.stats()
    hits_each = (lookups_per_thread + 1) // 2
    return CounterOutcome(
        expected_hits=threads * hits_each,
        expected_misses=threads * (lookups_per_thread - hits_each),
        hits=after.hits - before.hits,
        misses=after.misses - before.misses,
    )


class _Counters:
    """One counter incremented without and with a lock (what the fix adds per look-up)."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()  # guards `value` in locked_increment

    def unsafe_increment(self) -> None:
        self.value += 1

    def locked_increment(self) -> None:
        with self._lock:
            self.value += 1


def counter_cost_ns(number: int = 200_000) -> tuple[float, float]:
    """Nanoseconds per ``self.n += 1`` without and with a lock, one thread (best of 5)."""
    counters = _Counters()
    return (
        ns_per_call(counters.unsafe_increment, number=number),
        ns_per_call(counters.locked_increment, number=number),
    )


def lookup_rate(
    get_commands: Callable[[str, str, str, str], list[str] | None],
    prompt: str,
    *,
    threads: int = 100,
    each: int = 200,
) -> float:
    """Look-ups per second of ``prompt`` from ``threads`` threads released together."""

    def work(_index: int) -> None:
        for _ in range(each):
            get_commands(prompt, PROVIDER, MODEL, SYSTEM)

    started = time.perf_counter()
    run_together(work, threads)
    return threads * each / (time.perf_counter() - started)


@dataclass(frozen=True)
class FlightOutcome:
    """What N threads missing on one prompt together cost."""

    threads: int
    llm_calls: int
    distinct_answers: int
    """Different command lists returned (1 when everybody got the same answer)."""


def race_single_flight(
    cache: CountingCache, *, threads: int = 50, llm_seconds: float = 0.05, prompt: str = ""
) -> FlightOutcome:
    """Release ``threads`` threads on ``get_or_compute`` of one missing prompt.

    The fake LLM sleeps ``llm_seconds`` (as a network call would) and counts its calls.
    """
    prompt = prompt or f"install flight-demo-{time.monotonic_ns()}"
    calls = 0
    calls_lock = threading.Lock()  # guards `calls`

    def llm() -> list[str]:
        nonlocal calls
        with calls_lock:
            calls += 1
        time.sleep(llm_seconds)
        return [f"sudo apt install {prompt.split()[-1]}"]

    answers = run_together(
        lambda _i: cache.get_or_compute(prompt, PROVIDER, MODEL, SYSTEM, llm), threads
    )
    return FlightOutcome(threads, calls, len({tuple(a) for a in answers}))


# --------------------------------------------------------------------------------------
# graceful_degradation's failure counter
# --------------------------------------------------------------------------------------


class UnsafeFailureTracker:
    """The unsafe twin of ``GracefulDegradation``'s failure count and mode switch.

    :meth:`check_api_health` is upstream's shape (``cortex/graceful_degradation.py``, lines
    367-381): reset or ``+= 1`` the count, then derive the mode from it, with no lock.
    """

    def __init__(self) -> None:
        self.api_failures = 0
        self.mode = "full_ai"

    def check_api_health(self, api_check_fn: Callable[[], bool]) -> bool:
        """Count a failure with a racy read-modify-write, then pick the mode from it."""
        healthy = bool(api_check_fn())
        if healthy:
            self.api_failures = 0
        else:
            self.api_failures += 1
        self._update_mode()
        return healthy

    def _update_mode(self) -> None:
        self.mode = "full_ai" if self.api_failures == 0 else "pattern_matching"

    def get_status(self) -> dict[str, Any]:
        """``api_failures`` and ``mode``."""
        return {"api_failures": self.api_failures, "mode": self.mode}


class FailureCounter(Protocol):
    """What :func:`race_failures` needs: health checks that count failures, and a status."""

    def check_api_health(self, api_check_fn: Callable[[], bool]) -> Any:
        """Run one health check."""
        ...

    def get_status(self) -> dict[str, Any]:
        """A mapping with ``api_failures``."""
        ...


def race_failures(manager: FailureCounter, *, threads: int = 100, checks: int = 5) -> int:
    """``threads`` threads each report ``checks`` failed health checks; return the count kept."""

    def work(_index: int) -> None:
        for _ in range(checks):
            manager.check_api_health(lambda: False)

    run_together(work, threads)
    return int(manager.get_status()["api_failures"])


def counter_model(make_cache: Callable[[], CountingCache]) -> Callable[[], None]:
    """A model for :mod:`cortex.demos.interleavings`: two threads each miss once.

    It asserts that the cache counted both misses.
    """

    def model() -> None:
        cache = make_cache()

        def miss() -> None:
            cache.get_commands("install nothing-stored", PROVIDER, MODEL, SYSTEM)

        start_together(miss, miss)
        misses = cache.stats().misses
        assert misses == 2, f"2 misses made, {misses} counted"

    return model


def failure_model(make_tracker: Callable[[], FailureCounter]) -> Callable[[], None]:
    """A model: two threads each report one failed health check; both must be counted."""

    def model() -> None:
        tracker = make_tracker()
        start_together(*(lambda: tracker.check_api_health(lambda: False) for _ in range(2)))
        failures = int(tracker.get_status()["api_failures"])
        assert failures == 2, f"2 failures reported, {failures} counted"

    return model


def counter_stress_model(
    make_cache: Callable[[], CountingCache],
    *,
    threads: int = STRESS_THREADS,
    operations: int = STRESS_OPERATIONS,
) -> Callable[[], None]:
    """The counter race at the size one forced-interleaving run needs to show it.

    ``threads`` threads each miss ``operations`` times; it asserts that every miss was
    counted.
    """

    def model() -> None:
        cache = make_cache()

        def misses() -> None:
            for _ in range(operations):
                cache.get_commands("install nothing-stored", PROVIDER, MODEL, SYSTEM)

        start_together(*(misses for _ in range(threads)))
        made = threads * operations
        counted = cache.stats().misses
        assert counted == made, f"{made} misses made, {counted} counted"

    return model


def failure_stress_model(
    make_tracker: Callable[[], FailureCounter],
    *,
    threads: int = STRESS_THREADS,
    operations: int = STRESS_OPERATIONS,
) -> Callable[[], None]:
    """The failure-count race at the size one forced-interleaving run needs to show it."""

    def model() -> None:
        tracker = make_tracker()

        def failures() -> None:
            for _ in range(operations):
                tracker.check_api_health(lambda: False)

        start_together(*(failures for _ in range(threads)))
        made = threads * operations
        counted = int(tracker.get_status()["api_failures"])
        assert counted == made, f"{made} failures reported, {counted} counted"

    return model


# --------------------------------------------------------------------------------------
# context_memory: two transactions on two connections
# --------------------------------------------------------------------------------------


class UnsafeContextMemory:
    """The unsafe twin of ``ContextMemory.record_interaction`` (upstream's structure).

    The entry is inserted and committed on one connection; then, on another, the
    pattern's frequency is read, and written back plus one. Two threads can read the same
    frequency (a lost update), and a failure between the two steps leaves an entry that
    no pattern counts. Uses the same tables as ``ContextMemory``. Upstream:
    ``cortex/context_memory.py``, ``record_interaction`` (line 175) commits the entry, then
    ``_analyze_patterns`` (lines 293-335) reads a count and writes it back in a second
    transaction. SQLite releases the GIL while it works, so real threads interleave here on
    any build: no sleep is needed between the read and the write.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = os.fspath(db_path)
        self.fail_pattern_update = False
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=30)) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")  # as upstream's pool configured it
            conn.execute(
                "CREATE TABLE IF NOT EXISTS memory_entries (id INTEGER PRIMARY KEY "
                "AUTOINCREMENT, timestamp TEXT NOT NULL, category TEXT NOT NULL, context TEXT, "
                "action TEXT NOT NULL, result TEXT, success BOOLEAN DEFAULT 1, confidence REAL "
                "DEFAULT 1.0, frequency INTEGER DEFAULT 1, metadata TEXT, created_at TEXT)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS patterns (pattern_id TEXT PRIMARY KEY, "
                "pattern_type TEXT NOT NULL, description TEXT, frequency INTEGER DEFAULT 1, "
                "last_seen TEXT, confidence REAL DEFAULT 0.0, actions TEXT, context TEXT, "
                "created_at TEXT)"
            )

    @staticmethod
    def _pattern_id(category: str, action: str) -> str:
        return hashlib.sha256(f"{category}:{action}".encode()).hexdigest()[:16]

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def record_interaction(self, entry: MemoryEntry) -> int:
        """Insert (transaction 1), then read-modify-write the pattern (transaction 2)."""
        with contextlib.closing(self._connect()) as conn, conn:
            cursor = conn.execute(
                "INSERT INTO memory_entries (timestamp, category, context, action, result, "
                "success, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.timestamp,
                    entry.category,
                    entry.context,
                    entry.action,
                    entry.result,
                    entry.success,
                    json.dumps(entry.metadata),
                ),
            )
            entry_id = int(cursor.lastrowid or 0)
        if self.fail_pattern_update:
            raise RuntimeError("pattern analysis failed after the entry was committed")
        pattern_id = self._pattern_id(entry.category, entry.action)
        with contextlib.closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT frequency FROM patterns WHERE pattern_id = ?", (pattern_id,)
            ).fetchone()
            frequency = int(row[0]) if row else 0
            with conn:
                conn.execute(
                    "INSERT OR REPLACE INTO patterns (pattern_id, pattern_type, description, "
                    "frequency, last_seen, confidence, actions, context) "
                    "VALUES (?, ?, ?, ?, ?, 1.0, ?, ?)",
                    (
                        pattern_id,
                        entry.category,
                        f"Recurring pattern: {entry.action}",
                        frequency + 1,
                        entry.timestamp,
                        json.dumps([entry.action]),
                        json.dumps({"category": entry.category}),
                    ),
                )
        return entry_id


# --------------------------------------------------------------------------------------
# kernel_features: the lost commit
# --------------------------------------------------------------------------------------


class LostCommitLimitsDatabase:
    """The unsafe twin of the pooled ``LimitsDatabase``: writes are never committed.

    Upstream's pool handed the connection back without committing, so the write stayed in
    an open transaction: invisible to every other connection, and holding the write lock
    so that the next writer failed with "database is locked". Call :meth:`close` (it rolls
    the lost write back, as the end of the process would).
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self._conn = sqlite3.connect(os.fspath(db_path), timeout=0.2, check_same_thread=False)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS profiles (name TEXT PRIMARY KEY, config TEXT)"
        )
        self._conn.commit()

    def save(self, limits: ResourceLimits) -> None:
        """Write the profile and return without committing (the defect)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO profiles (name, config) VALUES (?, ?)",
            (limits.name, json.dumps({"name": limits.name, "preset": limits.preset})),
        )

    def close(self) -> None:
        """Close the connection (the uncommitted write is rolled back)."""
        self._conn.close()


# --------------------------------------------------------------------------------------
# The benchmark's baseline
# --------------------------------------------------------------------------------------


class PerCallConnectionCache:
    """Upstream's exact-hit path: open a connection, read, count the hit, commit, close.

    Correct under threads (each call has its own connection; SQLite serialises the
    writes), and the baseline the pooled, read-through cache is measured against. Reads the
    tables that :class:`cortex.semantic_cache.SemanticCache` writes.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = os.fspath(db_path)

    def get_commands(
        self, prompt: str, provider: str, model: str, system_prompt: str
    ) -> list[str] | None:
        """One look-up on a fresh connection (a hit also updates the entry and the stats)."""
        system_hash = hashlib.sha256(system_prompt.encode()).hexdigest()
        prompt_hash = hashlib.sha256(prompt.encode()).hexdigest()
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=30)) as conn, conn:
            conn.execute("PRAGMA synchronous=NORMAL")  # as upstream's pool set it (WAL file)
            row = conn.execute(
                "SELECT id, commands_json FROM llm_cache_entries WHERE provider = ? AND "
                "model = ? AND system_hash = ? AND prompt_hash = ?",
                (provider, model, system_hash, prompt_hash),
            ).fetchone()
            if row is None:
                conn.execute("UPDATE llm_cache_stats SET misses = misses + 1 WHERE id = 1")
                return None
            conn.execute(
                "UPDATE llm_cache_entries SET hit_count = hit_count + 1, last_accessed = ? "
                "WHERE id = ?",
                (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), row[0]),
            )
            conn.execute("UPDATE llm_cache_stats SET hits = hits + 1 WHERE id = 1")
            commands: list[str] = json.loads(row[1])
            return commands
