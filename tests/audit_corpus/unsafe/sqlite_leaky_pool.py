# expect: sqlite-missing-commit
"""A pool that hands connections back with their transaction still open."""

import contextlib
import queue
import sqlite3


class Pool:
    def __init__(self, path, size=5):
        self._queue = queue.Queue()
        for _ in range(size):
            self._queue.put(sqlite3.connect(path, check_same_thread=False))

    @contextlib.contextmanager
    def get_connection(self):
        conn = self._queue.get()
        try:
            yield conn
        finally:
            self._queue.put(conn)
