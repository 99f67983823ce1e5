"""Primitives created inside the coroutine that runs the batch."""

import asyncio
import threading


class ParallelLLMExecutor:
    def __init__(self, max_concurrent=5):
        self.max_concurrent = max_concurrent
        self._stats_lock = threading.Lock()  # a thread lock is loop-independent

    async def execute_batch_async(self, queries):
        semaphore = asyncio.Semaphore(self.max_concurrent)

        async def one(query):
            async with semaphore:
                await asyncio.sleep(0)
                return query

        return await asyncio.gather(*(one(q) for q in queries))

    def execute_batch(self, queries):
        return asyncio.run(self.execute_batch_async(queries))


class SyncOnly:
    def __init__(self):
        self.event = asyncio.Event()

    def is_set(self):
        return self.event.is_set()
