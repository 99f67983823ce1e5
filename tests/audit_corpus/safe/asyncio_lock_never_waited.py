"""An asyncio lock made in __init__ that is only taken when free: refresh() returns when
another refresh holds it, so no coroutine ever waits on it and it never binds to a loop
(a second asyncio.run() can use it)."""

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


def main(load):
    catalog = Catalog(load)
    asyncio.run(catalog.refresh())
    asyncio.run(catalog.refresh())
