"""The router-statistics race: unlocked read-modify-write counters beside the fix.

Upstream counted LLM requests with ``self.requests += 1`` from every FUSE worker thread
(``cortex/kernel_features/llm_device.py``, line 151) and reset the router's counters
without its lock (``cortex/llm_router.py``, lines 429-433). ``+=`` on an attribute or a
dictionary entry is a read, an add and a write: two threads that read the same old value
both write old + n, and one update is lost. Without the GIL this needs nothing; on a GIL
build no switch interval splits the statement, so :func:`stats_model` lets
:mod:`cortex.demos.interleavings` choose the switches. The twin has no sleep in it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from cortex.demos.harness import run_together
from cortex.demos.interleavings import STRESS_OPERATIONS, STRESS_THREADS, start_together

__all__ = [
    "LockedStats",
    "StatsOutcome",
    "UnsafeStats",
    "race_stats",
    "stats_model",
    "stats_stress_model",
]


class UnsafeStats:
    """The unsafe twin: counters updated with ``+=`` and no lock. Do not use."""

    def __init__(self) -> None:
        self.requests = 0
        self.tokens: dict[str, int] = {}

    def record(self, provider: str, tokens: int) -> None:
        """Add one request and its tokens (racy)."""
        self.requests += 1
        self.tokens[provider] = self.tokens.get(provider, 0) + tokens


class LockedStats:
    """The fix: the same counters, every update under one lock (as ``LLMRouter`` does)."""

    def __init__(self) -> None:
        # Guards requests and tokens.
        self._lock = threading.Lock()
        self.requests = 0
        self.tokens: dict[str, int] = {}

    def record(self, provider: str, tokens: int) -> None:
        """Add one request and its tokens."""
        with self._lock:
            self.requests += 1
            self.tokens[provider] = self.tokens.get(provider, 0) + tokens


@dataclass(frozen=True)
class StatsOutcome:
    """Expected and counted requests and tokens after a race."""

    expected_requests: int
    counted_requests: int
    expected_tokens: int
    counted_tokens: int

    @property
    def exact(self) -> bool:
        """True when nothing was lost."""
        return (
            self.expected_requests == self.counted_requests
            and self.expected_tokens == self.counted_tokens
        )


def race_stats(
    stats: UnsafeStats | LockedStats, *, threads: int = 100, per_thread: int = 20
) -> StatsOutcome:
    """Release ``threads`` threads that each record ``per_thread`` requests of 7 tokens."""

    def work(index: int) -> None:
        for _ in range(per_thread):
            stats.record("offline" if index % 2 else "claude", 7)

    run_together(work, threads)
    expected = threads * per_thread
    return StatsOutcome(expected, stats.requests, expected * 7, sum(stats.tokens.values()))


def stats_model(make_stats: Callable[[], UnsafeStats | LockedStats]) -> Callable[[], None]:
    """A model for :mod:`cortex.demos.interleavings`: two threads record one request each.

    It asserts that both requests and their tokens were counted.
    """

    def model() -> None:
        stats = make_stats()
        start_together(lambda: stats.record("claude", 7), lambda: stats.record("claude", 7))
        counted = (stats.requests, stats.tokens.get("claude", 0))
        assert counted == (2, 14), "update lost: 2 requests of 7 tokens recorded"

    return model


def stats_stress_model(
    make_stats: Callable[[], UnsafeStats | LockedStats],
    *,
    threads: int = STRESS_THREADS,
    operations: int = STRESS_OPERATIONS,
) -> Callable[[], None]:
    """The same race at the size one forced-interleaving run needs to show it.

    ``threads`` threads record ``operations`` requests of 7 tokens each; it asserts that all
    of them were counted.
    """

    def model() -> None:
        stats = make_stats()

        def work() -> None:
            for _ in range(operations):
                stats.record("claude", 7)

        start_together(*(work for _ in range(threads)))
        made = threads * operations
        counted = (stats.requests, stats.tokens.get("claude", 0))
        assert counted == (made, 7 * made), (
            f"update lost: {made} requests of 7 tokens recorded, {counted[0]} counted"
        )

    return model
