# expect: sqlite-missing-commit
# expect: sqlite-missing-commit
"""A pool whose checkout never commits, and a write that trusts it to."""

import queue
import sqlite3
from contextlib import contextmanager


class Pool:
    def __init__(self, path, size=2):
        self._pool = queue.Queue()
        for _ in range(size):
            self._pool.put(sqlite3.connect(path, check_same_thread=False))

    @contextmanager
    def get_connection(self):
        conn = self._pool.get()
        try:
            yield conn
        finally:
            self._pool.put(conn)


class Limits:
    def __init__(self, pool):
        self._pool = pool

    def save(self, name, config):
        with self._pool.get_connection() as conn:
            conn.execute("INSERT OR REPLACE INTO profiles VALUES (?, ?)", (name, config))
