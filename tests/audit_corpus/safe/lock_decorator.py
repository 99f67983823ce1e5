"""A synchronized decorator holds the lock around the method."""

import functools
import threading


def synchronized(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class Meter:
    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    @synchronized
    def tick(self):
        self.count += 1
