"""A lock table opened through a filesystem object for reading only: nothing here is
written, so nothing can be torn."""

import json


class LockTable:
    def __init__(self, fs, root):
        self.fs = fs
        self.path = root + "/tmp/locks.json"

    def load(self):
        with self.fs.open(self.path, "r", encoding="utf-8") as handle:
            return json.load(handle)
