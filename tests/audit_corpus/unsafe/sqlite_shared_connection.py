# expect: sqlite-shared-connection
"""One connection for every thread, no lock."""

import sqlite3


class History:
    def __init__(self, path):
        self._conn = sqlite3.connect(path, check_same_thread=False)

    def add(self, package):
        self._conn.execute("INSERT INTO history (package) VALUES (?)", (package,))
        self._conn.commit()

    def count(self):
        return self._conn.execute("SELECT count(*) FROM history").fetchone()[0]
