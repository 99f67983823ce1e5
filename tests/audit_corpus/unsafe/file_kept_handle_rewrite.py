# expect: file-in-place-write
"""A JSON store keeps its file open and rewrites it through the handle: seek to the
start, write, truncate. Between the calls the file holds new bytes over old ones; a
crash or another process reading then sees torn JSON."""

import json


class JSONStore:
    def __init__(self, path):
        self._handle = open(path, "r+", encoding="utf-8")

    def write(self, data):
        self._handle.seek(0)
        self._handle.write(json.dumps(data))
        self._handle.flush()
        self._handle.truncate()
