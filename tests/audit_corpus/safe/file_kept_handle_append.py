"""A log kept open and appended to, and a handle only read back from the start: neither
truncates what is there, so no reader sees a file cut short."""

import json


class JournalStore:
    def __init__(self, path):
        self._handle = open(path, "a+", encoding="utf-8")

    def append(self, record):
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()

    def replay(self):
        self._handle.seek(0)
        return [json.loads(line) for line in self._handle]
