"""The registry's bar counts under its own lock: the workers that share it lose nothing."""

import threading


class Bar:
    def __init__(self, total):
        self.total = total
        self.done = 0
        self._lock = threading.Lock()

    def tick(self):
        with self._lock:
            self.done += 1


class Bars:
    _bars = {}
    _lock = threading.Lock()

    @classmethod
    def get(cls, bar_id, total):
        with cls._lock:
            if bar_id not in cls._bars:
                cls._bars[bar_id] = Bar(total)
            return cls._bars[bar_id]
