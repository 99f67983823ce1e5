"""An asyncio.Lock made in __init__ of an object that lives in one event loop (a library
class its caller uses from inside their loop): nothing here runs a second loop. Reported
only as info."""

import asyncio


class Limiter:
    def __init__(self):
        self._lock = asyncio.Lock()

    async def acquire(self):
        async with self._lock:
            await asyncio.sleep(0)
