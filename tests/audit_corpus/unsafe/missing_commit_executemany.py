# expect: sqlite-missing-commit
"""executemany on a stored connection with no commit."""

import sqlite3


class Exporter:
    def __init__(self, path):
        self.db = sqlite3.connect(path)

    def import_rows(self, rows):
        self.db.executemany("INSERT INTO pkgs (name, version) VALUES (?, ?)", rows)
