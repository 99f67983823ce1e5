# expect: sqlite-missing-commit
"""An insert on a connection that is never committed."""

import sqlite3


class Limits:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def create(self, name, quota):
        cur = self.conn.cursor()
        cur.execute("INSERT INTO profiles (name, quota) VALUES (?, ?)", (name, quota))
        return cur.lastrowid
