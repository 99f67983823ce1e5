"""A Condition used as the lock around a counter."""

import threading


class Pending:
    def __init__(self):
        self._cv = threading.Condition()
        self.pending = 0

    def add(self):
        with self._cv:
            self.pending += 1
            self._cv.notify_all()

    def done(self):
        with self._cv:
            self.pending -= 1
            self._cv.notify_all()
