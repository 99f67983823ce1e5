"""Counters changed only under the lock; __init__ is not shared yet."""

import threading


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.hits = 0
        self.hits += 0
        self.by_provider = {}

    def hit(self, provider):
        with self._lock:
            self.hits += 1
            self.by_provider[provider] = self.by_provider.get(provider, 0) + 1

    def add_many(self, n):
        self._lock.acquire()
        try:
            self.hits += n
        finally:
            self._lock.release()
