"""A cache index: one write trusts the pool to commit, one commits itself."""

from appcore.utils.db_pool import get_pool


class CacheIndex:
    def __init__(self, path):
        self._pool = get_pool(path)

    def forget(self, key):
        with self._pool.get_connection() as conn:
            conn.execute("DELETE FROM entries WHERE key = ?", (key,))

    def touch(self, key, now):
        with self._pool.get_connection() as conn:
            conn.execute("UPDATE entries SET accessed = ? WHERE key = ?", (now, key))
            conn.commit()
