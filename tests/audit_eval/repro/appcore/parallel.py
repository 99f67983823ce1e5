"""A batch runner whose semaphore is made in __init__ while its synchronous API starts a
new event loop on every call."""

import asyncio


class BatchRunner:
    def __init__(self, call, max_concurrent=4):
        self.call = call
        self._semaphore = asyncio.Semaphore(max_concurrent)

    async def _one(self, query):
        async with self._semaphore:
            return await self.call(query)

    async def run_async(self, queries):
        return await asyncio.gather(*(self._one(q) for q in queries))

    def run(self, queries):
        return asyncio.run(self.run_async(queries))
