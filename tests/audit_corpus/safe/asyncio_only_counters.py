"""Counters in coroutines of one event loop: no threads, no race."""

import asyncio


class Batch:
    def __init__(self):
        self.completed = 0

    async def one(self, item):
        await asyncio.sleep(0)
        self.completed += 1
        return item

    async def run(self, items):
        semaphore = asyncio.Semaphore(4)

        async def guarded(item):
            async with semaphore:
                return await self.one(item)

        return await asyncio.gather(*(guarded(i) for i in items))
