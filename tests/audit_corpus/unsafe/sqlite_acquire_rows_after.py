# expect: sqlite-use-after-return
"""A cursor returned by execute() read after the checkout ended."""


class Packages:
    def __init__(self, pool):
        self.pool = pool

    def names(self):
        with self.pool.acquire() as c:
            rows = c.execute("SELECT name FROM packages")
        return [r[0] for r in rows.fetchall()]
