"""Informational only (a connection per operation is thread-safe; it costs in a hot
path): Upstream's cache: a helper returns a fresh connection, every lookup calls it."""

import sqlite3
from contextlib import closing


class ResponseCache:
    def __init__(self, path):
        self.path = path
        with closing(self._get_conn()) as conn, conn:
            conn.execute("CREATE TABLE IF NOT EXISTS cache (k TEXT, v TEXT)")

    def _get_conn(self):
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def get(self, key):
        with closing(self._get_conn()) as conn:
            return conn.execute("SELECT v FROM cache WHERE k = ?", (key,)).fetchone()
