# expect: file-in-place-write
"""A lock table kept as JSON in the project's state directory, opened through a
filesystem object: every command truncates it and dumps the table back."""

import json


class LockTable:
    def __init__(self, fs, root):
        self.fs = fs
        self.path = root + "/tmp/locks.json"

    def save(self, table):
        with self.fs.open(self.path, "w", encoding="utf-8") as handle:
            json.dump(table, handle)
