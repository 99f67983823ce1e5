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


def run_once(obj, method):
    """Each call starts a new event loop, as a synchronous API does."""
    return asyncio.run(getattr(obj, method)())
