"""Workers that hand results through a queue and count under a lock."""

import queue
import threading


class Crawler:
    def __init__(self):
        self._lock = threading.Lock()
        self.done = 0
        self.results = queue.Queue()

    def worker(self, jobs):
        while True:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                return
            self.results.put(job * 2)
            with self._lock:
                self.done += 1
