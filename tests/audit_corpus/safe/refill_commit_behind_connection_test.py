"""A version map refreshed on its own connection: the writes are committed at the end,
behind a test that only asks whether the connection is open."""

import sqlite3


class VersionMap:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)
        self.cursor = self.conn.cursor()

    def refill(self, rows):
        self.cursor.execute("DELETE FROM versions")
        for version, source in rows:
            self.cursor.execute("INSERT INTO versions VALUES (?, ?)", (version, source))
        if self.conn is not None:
            self.conn.commit()
