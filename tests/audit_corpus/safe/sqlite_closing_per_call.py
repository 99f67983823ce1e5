"""Informational only (a connection per operation is thread-safe; it costs in a hot
path): contextlib.closing around a connection opened on every lookup."""

import sqlite3
from contextlib import closing


class ResponseCache:
    def __init__(self, path):
        self.path = path

    def get(self, key):
        with closing(sqlite3.connect(self.path)) as conn:
            row = conn.execute("SELECT v FROM cache WHERE k = ?", (key,)).fetchone()
        return row and row[0]
