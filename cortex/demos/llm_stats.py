"""The router-statistics race: unlocked read-modify-write counters beside the fix.

Upstream's router added to its counters from every thread with ``self.total += n`` and
reset them without a lock. ``+=`` on an attribute or a dictionary entry is a read, an add
and a write: two threads that read the same old value both write old + n, and one update
is lost. Without the GIL this needs nothing; with it, a tiny switch interval
(``sys.setswitchinterval(1e-6)``) or a yield between read and write exposes it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from cortex.demos.harness import run_together

__all__ = ["LockedStats", "StatsOutcome", "UnsafeStats", "race_stats"]


class UnsafeStats:
    """The unsafe twin: counters updated with ``+=`` and no lock. Do not use."""

    def __init__(self, window: float = 0.0) -> None:
        self.window = window
        self.requests = 0
        self.tokens: dict[str, int] = {}

    def record(self, provider: str, tokens: int) -> None:
        """Add one request and its tokens (racy)."""
        requests = self.requests  # read ...
        if self.window:
            time.sleep(self.window)  # stands for the work between read and write
        self.requests = requests + 1  # ... write: another thread's update may be lost
        self.tokens[provider] = self.tokens.get(provider, 0) + tokens


class LockedStats:
    """The fix: the same counters, every update under one lock (as ``LLMRouter`` does)."""

    def __init__(self, window: float = 0.0) -> None:
        self.window = window
        # Guards requests and tokens.
        self._lock = threading.Lock()
        self.requests = 0
        self.tokens: dict[str, int] = {}

    def record(self, provider: str, tokens: int) -> None:
        """Add one request and its tokens."""
        with self._lock:
            requests = self.requests
            if self.window:
                time.sleep(self.window)
            self.requests = requests + 1
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
