# expect: shared-reset-unlocked
"""Counters updated under a lock by the workers, and reset without it."""

import threading


class Router:
    def __init__(self):
        self._stats_lock = threading.Lock()
        self.request_count = 0
        self.provider_stats = {"claude": {"requests": 0}}

    def _update_stats(self, provider):
        with self._stats_lock:
            self.request_count += 1
            stats = self.provider_stats[provider]
            stats["requests"] += 1

    def reset_stats(self):
        self.request_count = 0
        for provider in self.provider_stats:
            self.provider_stats[provider] = {"requests": 0}
