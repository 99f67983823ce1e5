# expect: sqlite-missing-commit
"""The only commit is the schema's, in __init__: it runs before any write, so the rows
save() inserts are never committed (upstream's lost-commit shape on a kept connection)."""

import sqlite3


class Profiles:
    def __init__(self, path):
        self._conn = sqlite3.connect(path)
        self._conn.execute("CREATE TABLE IF NOT EXISTS profiles (name TEXT, config TEXT)")
        self._conn.commit()

    def save(self, name, config):
        self._conn.execute("INSERT INTO profiles (name, config) VALUES (?, ?)", (name, config))

    def close(self):
        self._conn.close()
