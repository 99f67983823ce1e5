"""Autocommit mode needs no commit."""

import sqlite3


class Log:
    def __init__(self, path):
        self.path = path

    def _connect(self):
        return sqlite3.connect(self.path, isolation_level=None)

    def add(self, text):
        conn = self._connect()
        conn.execute("INSERT INTO log (text) VALUES (?)", (text,))
        conn.close()
