"""The event-loop race: asyncio primitives created in ``__init__`` beside the fix.

Upstream's ``ParallelLLMExecutor`` made its ``asyncio.Semaphore`` (and its rate limiter's
``asyncio.Lock``) in ``__init__``. An asyncio primitive binds to the first event loop that
waits on it; every ``asyncio.run`` makes a new loop, so the executor's second batch (or a
batch from another thread, or from inside Jupyter's loop) fails with
``RuntimeError: ... is bound to a different event loop``.

:class:`LoopBoundExecutor` is that pattern, kept runnable; :func:`run_two_batches` drives
it, or the real :class:`~cortex.parallel_llm.ParallelLLMExecutor`, through two
``asyncio.run`` calls and reports what happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

__all__ = ["LoopBoundExecutor", "LoopSafeExecutor", "TwoBatchesOutcome", "run_two_batches"]


class LoopBoundExecutor:
    """The unsafe twin: one ``asyncio.Semaphore`` made at construction. Do not use."""

    def __init__(self, max_concurrent: int = 2, latency: float = 0.01) -> None:
        self.latency = latency
        self._semaphore = asyncio.Semaphore(max_concurrent)  # bound to the first loop using it

    async def _one(self, item: str) -> str:
        async with self._semaphore:
            await asyncio.sleep(self.latency)
            return item.upper()

    async def execute_batch_async(self, items: Sequence[str]) -> list[str]:
        """Answer every item, ``max_concurrent`` at a time."""
        return list(await asyncio.gather(*(self._one(i) for i in items)))


class LoopSafeExecutor(LoopBoundExecutor):
    """The fix: the semaphore is made inside the coroutine, on the loop that runs it."""

    def __init__(self, max_concurrent: int = 2, latency: float = 0.01) -> None:
        self.latency = latency
        self.max_concurrent = max_concurrent

    async def execute_batch_async(self, items: Sequence[str]) -> list[str]:
        """Answer every item, ``max_concurrent`` at a time, on the running loop."""
        semaphore = asyncio.Semaphore(self.max_concurrent)  # this loop, this batch only

        async def one(item: str) -> str:
            async with semaphore:
                await asyncio.sleep(self.latency)
                return item.upper()

        return list(await asyncio.gather(*(one(i) for i in items)))


@dataclass(frozen=True)
class TwoBatchesOutcome:
    """Whether each of two batches (two ``asyncio.run`` calls) succeeded."""

    first_ok: bool
    second_ok: bool
    error: str
    """The second batch's error message, or ``""``."""

    @property
    def safe(self) -> bool:
        """True when both batches worked."""
        return self.first_ok and self.second_ok


def _two_runs(executor: LoopBoundExecutor, items: Sequence[str]) -> TwoBatchesOutcome:
    expected = [i.upper() for i in items]
    first = asyncio.run(executor.execute_batch_async(items))
    try:
        second = asyncio.run(executor.execute_batch_async(items))
    except RuntimeError as exc:
        return TwoBatchesOutcome(first == expected, False, str(exc))
    return TwoBatchesOutcome(first == expected, second == expected, "")


def run_two_batches(
    executor: LoopBoundExecutor, items: Sequence[str] = "abcde"
) -> TwoBatchesOutcome:
    """Run one batch with ``asyncio.run``, then another with a second ``asyncio.run``.

    Both run in a helper thread with no event loop of its own, as in a script, so this
    also works from a notebook whose loop is already running.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="two-batches") as helper:
        return helper.submit(_two_runs, executor, items).result()
