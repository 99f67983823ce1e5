# expect: asyncio-loop-bound
"""An asyncio.Event made in __init__ and awaited in a coroutine."""

import asyncio


class Installer:
    def __init__(self):
        self._done = asyncio.Event()

    async def wait_done(self):
        await self._done.wait()

    async def finish(self):
        self._done.set()
