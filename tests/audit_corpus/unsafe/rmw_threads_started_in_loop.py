# expect: shared-rmw
"""Workers started in a loop all run the same method: the class's lock guards the job
list only, and the processed count, never updated under it, still loses increments
because several threads run the very same line."""

import threading


class Crawler:
    def __init__(self, urls):
        self._lock = threading.Lock()
        self._pending = list(urls)
        self.processed = 0

    def _next(self):
        with self._lock:
            return self._pending.pop() if self._pending else None

    def _work(self):
        while self._next() is not None:
            self.processed += 1

    def run(self, workers):
        threads = []
        for _ in range(workers):
            thread = threading.Thread(target=self._work)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
