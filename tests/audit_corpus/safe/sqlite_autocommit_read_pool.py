"""A pool of read-only autocommit connections: giving one back without a commit leaves no
transaction open."""

import queue
import sqlite3
from contextlib import contextmanager


class Reader:
    def __init__(self, path, size=4):
        self._idle = queue.Queue()
        for _ in range(size):
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            self._idle.put(conn)

    @contextmanager
    def connection(self):
        conn = self._idle.get()
        try:
            yield conn
        finally:
            self._idle.put(conn)

    def count(self):
        with self.connection() as conn:
            return conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
