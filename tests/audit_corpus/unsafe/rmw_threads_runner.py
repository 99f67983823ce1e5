# expect: shared-rmw
"""A counter bumped by a function that a helper runs on several threads at once."""

import threading


def run_in_threads(function, count):
    threads = [threading.Thread(target=function) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Meter:
    def __init__(self):
        self._lock = threading.Lock()
        self.hits = 0

    def hit(self):
        self.hits += 1

    def run(self):
        run_in_threads(self.hit, 8)
