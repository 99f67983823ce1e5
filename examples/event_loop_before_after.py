"""Event-loop-bound primitives: before (made in ``__init__``) and after (made per batch).

Standalone: copy the ``after`` half into your executor. An ``asyncio.Semaphore`` (or Lock,
Event, Condition, Queue) binds to the first event loop that waits on it. Each
``asyncio.run`` makes a new loop, so an object that keeps one across calls fails on its
second batch, on a batch from another thread, and inside Jupyter's loop::

    python examples/event_loop_before_after.py
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

PACKAGES = ["nginx", "redis", "postgresql", "docker", "nodejs"]


async def ask_model(package: str) -> str:
    """Stands for one LLM request."""
    await asyncio.sleep(0.01)
    return f"apt-get install -y {package}"


# ---- before: the semaphore is created once, in __init__ -------------------------------
class ExecutorBefore:
    def __init__(self, max_concurrent: int = 2) -> None:
        self._semaphore = asyncio.Semaphore(max_concurrent)  # binds to the first loop

    async def _one(self, package: str) -> str:
        async with self._semaphore:
            return await ask_model(package)

    async def execute_batch_async(self, packages: Sequence[str]) -> list[str]:
        return list(await asyncio.gather(*(self._one(p) for p in packages)))


# ---- after: loop-bound objects live inside the coroutine; shared state is loop-agnostic --
class ExecutorAfter:
    def __init__(self, max_concurrent: int = 2, requests_per_second: float = 100.0) -> None:
        self.max_concurrent = max_concurrent
        self._interval = 1.0 / requests_per_second
        # Guards _next_start; held only for arithmetic, never across an await.
        self._lock = threading.Lock()
        self._next_start = 0.0

    async def _rate_limit(self) -> None:
        """Shared by every loop and thread: a thread lock plus asyncio.sleep, no loop state."""
        while True:
            with self._lock:
                now = time.monotonic()
                if now >= self._next_start:
                    self._next_start = now + self._interval
                    return
                delay = self._next_start - now
            await asyncio.sleep(delay)

    async def execute_batch_async(self, packages: Sequence[str]) -> list[str]:
        semaphore = asyncio.Semaphore(self.max_concurrent)  # this batch, this loop

        async def one(package: str) -> str:
            async with semaphore:
                await self._rate_limit()
                return await ask_model(package)

        return list(await asyncio.gather(*(one(p) for p in packages)))


def two_batches(executor: ExecutorBefore | ExecutorAfter) -> str:
    """Run two batches, each in its own asyncio.run (as two CLI calls or two cells would)."""
    results = []
    for _ in range(2):
        try:
            results.append(asyncio.run(executor.execute_batch_async(PACKAGES)))
        except RuntimeError as exc:
            return f"batch {len(results) + 1} failed: {exc}"
    return "both batches worked" if results[0] == results[1] else "batches disagree"


if __name__ == "__main__":
    before = two_batches(ExecutorBefore())
    after = two_batches(ExecutorAfter())
    print(f"before: {before}")
    print(f"after:  {after}")
    fixed = "bound to a different event loop" in before and after == "both batches worked"
    raise SystemExit(0 if fixed else 1)
