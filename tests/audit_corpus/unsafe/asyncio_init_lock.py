# expect: asyncio-loop-bound
"""A rate limiter whose lock is bound to the first loop."""

import asyncio
from asyncio import Lock, sleep


class RateLimiter:
    def __init__(self, rate):
        self.rate = rate
        self._lock = Lock()

    async def acquire(self):
        async with self._lock:
            await sleep(1 / self.rate)


def run_once(obj, method):
    """Each call starts a new event loop, as a synchronous API does."""
    return asyncio.run(getattr(obj, method)())
