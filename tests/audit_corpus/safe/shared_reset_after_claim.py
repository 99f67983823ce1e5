"""A run claims the object under the lock (refusing a second run) before it resets its
counters: no other run updates them until this one is over."""

import threading


class Parallel:
    def __init__(self):
        self._lock = threading.Lock()
        self._running = False
        self.n_completed = 0

    def _on_done(self, result):
        with self._lock:
            self.n_completed += 1

    def __call__(self, tasks):
        with self._lock:
            if self._running:
                raise RuntimeError("already running")
            self._running = True
        self.n_completed = 0
        try:
            for task in tasks:
                self._on_done(task())
        finally:
            self._running = False
