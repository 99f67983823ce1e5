"""A private helper that every caller runs while holding the lock."""

import threading


class Meter:
    def __init__(self):
        self._lock = threading.Lock()
        self.total = 0

    def add(self, n):
        with self._lock:
            self._bump(n)

    def add_twice(self, n):
        with self._lock:
            self._bump(n)
            self._bump(n)

    def _bump(self, n):
        self.total += n
