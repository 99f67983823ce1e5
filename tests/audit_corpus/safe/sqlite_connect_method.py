"""Informational only (a connection per operation is thread-safe; it costs in a hot
path): A cache that opens a connection in every lookup and every store."""

import sqlite3


class SemanticCache:
    def __init__(self, db_path):
        self.db_path = db_path
        with sqlite3.connect(db_path) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS cache (k TEXT PRIMARY KEY, v TEXT)")

    def get(self, key):
        conn = sqlite3.connect(self.db_path)
        try:
            row = conn.execute("SELECT v FROM cache WHERE k = ?", (key,)).fetchone()
        finally:
            conn.close()
        return row[0] if row else None

    def put(self, key, value):
        with sqlite3.connect(self.db_path) as conn:
            conn.execute("INSERT OR REPLACE INTO cache VALUES (?, ?)", (key, value))
