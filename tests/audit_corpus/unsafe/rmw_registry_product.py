"""One progress bar per id, kept in a registry that a lock guards: every worker thread
that asks for the id gets the same bar, and its unlocked += loses ticks."""
# expect: shared-rmw

import threading


class Bar:
    def __init__(self, total):
        self.total = total
        self.done = 0

    def tick(self):
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
