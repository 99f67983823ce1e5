"""Resource limits saved through the shared pool (another module's checkout)."""

import json

from appcore.utils.db_pool import get_pool


class LimitsStore:
    def __init__(self, path):
        self._pool = get_pool(path)
        with self._pool.get_connection() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS limits (name TEXT PRIMARY KEY, data TEXT)")

    def save(self, name, limits):
        with self._pool.get_connection() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO limits VALUES (?, ?)", (name, json.dumps(limits))
            )

    def load(self, name):
        with self._pool.get_connection() as conn:
            row = conn.execute("SELECT data FROM limits WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None
