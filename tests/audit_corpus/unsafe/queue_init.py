# expect: asyncio-loop-bound
"""An asyncio.Queue made in __init__ and drained by a coroutine."""

import asyncio


class Pipeline:
    def __init__(self):
        self.queue = asyncio.Queue(maxsize=100)

    async def producer(self, items):
        for item in items:
            await self.queue.put(item)

    async def consumer(self):
        return await self.queue.get()


def run_once(obj, method):
    """Each call starts a new event loop, as a synchronous API does."""
    return asyncio.run(getattr(obj, method)())
