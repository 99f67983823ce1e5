"""Schema setup opens its own connection once; module helpers connect per call."""

import sqlite3


class Cache:
    def __init__(self, path):
        self.path = path
        self._init_db()

    def _init_db(self):
        with sqlite3.connect(self.path) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS c (k TEXT)")


def count(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM c").fetchone()[0]
