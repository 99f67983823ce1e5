"""A shared connection, but every use holds the lock."""

import sqlite3
import threading


class Store:
    def __init__(self, path):
        # Guards every use of _conn.
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")

    def put(self, key, value):
        with self._lock, self._conn:
            self._conn.execute("INSERT INTO kv VALUES (?, ?)", (key, value))

    def get(self, key):
        with self._lock:
            row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return row
