"""An asyncio bridge to sqlite3: the write is committed by an awaited call. Shape of a
false positive found on a real async SQLite library."""

import aiosqlite


async def record(path, name):
    async with aiosqlite.connect(path) as db:
        await db.execute("insert into seen (name) values (?)", (name,))
        await db.commit()


async def record_many(path, names):
    async with aiosqlite.connect(path) as db:
        for name in names:
            await db.execute("insert into seen (name) values (?)", (name,))
        await db.commit()
