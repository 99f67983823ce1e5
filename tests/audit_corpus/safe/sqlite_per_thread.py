"""One connection per thread, opened once per thread; a pool opened in __init__."""

import queue
import sqlite3
import threading


class PerThread:
    def __init__(self, path):
        self.path = path
        self._local = threading.local()

    def connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path)
            self._local.conn = conn
        return conn


class Pool:
    def __init__(self, path, size):
        self._idle = queue.Queue()
        for _ in range(size):
            conn = sqlite3.connect(path, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            self._idle.put(conn)

    def _open(self):
        conn = sqlite3.connect(self.path, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return conn
