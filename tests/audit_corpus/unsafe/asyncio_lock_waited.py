# expect: asyncio-loop-bound
"""The same lock, but one path waits for it: the first wait binds it to that loop, and
the next asyncio.run() fails on it."""

import asyncio


class Catalog:
    def __init__(self, load):
        self._load = load
        self._refresh_lock = asyncio.Lock()
        self.tables = {}

    async def refresh(self):
        if self._refresh_lock.locked():
            return
        async with self._refresh_lock:
            self.tables = await self._load()

    async def reload(self):
        async with self._refresh_lock:
            self.tables = await self._load()


def main(load):
    catalog = Catalog(load)
    asyncio.run(catalog.refresh())
    asyncio.run(catalog.reload())
