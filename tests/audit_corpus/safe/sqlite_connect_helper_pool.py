"""A helper that opens connections for a pool: called when the pool grows, not per use."""

import sqlite3
import threading


class Pool:
    def __init__(self, path, size):
        self.path = path
        self._lock = threading.Lock()  # guards _idle
        self._idle = [self._open() for _ in range(size)]

    def _open(self):
        return sqlite3.connect(self.path, check_same_thread=False)

    def acquire(self):
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._open()
