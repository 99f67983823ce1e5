# expect: sqlite-missing-commit
"""The same refill committed only when a flag says so: a test that is not about the
connection can skip the commit, and the writes are lost."""

import sqlite3


class VersionMap:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)
        self.cursor = self.conn.cursor()
        self.dirty = False

    def refill(self, rows):
        self.cursor.execute("DELETE FROM versions")
        for version, source in rows:
            self.cursor.execute("INSERT INTO versions VALUES (?, ?)", (version, source))
        if self.dirty:
            self.conn.commit()
