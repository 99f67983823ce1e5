"""The reset takes the lock the updates take: nothing in flight is lost."""

import threading


class Router:
    def __init__(self):
        self._stats_lock = threading.Lock()
        self.request_count = 0

    def _update_stats(self):
        with self._stats_lock:
            self.request_count += 1

    def reset_stats(self):
        with self._stats_lock:
            self.request_count = 0
