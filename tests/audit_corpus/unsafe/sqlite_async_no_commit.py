# expect: sqlite-missing-commit
"""An async write that is never committed: aiosqlite's connection closes at the end of
the block and the insert is rolled back. The name only looks like a test's."""

import aiosqlite


async def testimonial_save(path, text):
    async with aiosqlite.connect(path) as db:
        await db.execute("insert into testimonials (text) values (?)", (text,))
