# expect: asyncio-loop-bound
# expect: asyncio-loop-bound
"""Primitives created in __init__, used by every batch's coroutines."""

import asyncio


class ParallelLLMExecutor:
    def __init__(self, max_concurrent=5):
        self.semaphore = asyncio.Semaphore(max_concurrent)
        self.results = asyncio.Queue()

    async def _one(self, query):
        async with self.semaphore:
            await asyncio.sleep(0)
            await self.results.put(query)

    async def execute_batch_async(self, queries):
        await asyncio.gather(*(self._one(q) for q in queries))

    def execute_batch(self, queries):
        return asyncio.run(self.execute_batch_async(queries))
