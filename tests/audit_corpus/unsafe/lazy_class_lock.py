# expect: singleton-class-cache
"""A progress bar whose class-wide lock is made on first use (pikaur's shape): two pool
workers drawing their first bar at once each make a Lock, and each holds its own while
both draw."""

import threading
from concurrent.futures import ThreadPoolExecutor


class ProgressBar:
    _lock = None

    @classmethod
    def lock(cls):
        if cls._lock is None:
            cls._lock = threading.Lock()
        return cls._lock

    def draw(self, step):
        with self.lock():
            print(step)


def fetch_all(names, fetch):
    bar = ProgressBar()
    with ThreadPoolExecutor(4) as pool:
        for name in names:
            pool.submit(lambda n=name: (fetch(n), bar.draw(n)))
