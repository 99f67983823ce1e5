"""A model router: statistics updated under a lock and reset without it, and a fallback
that calls itself with the other provider, whichever failed last."""

import threading


class Router:
    def __init__(self, providers, enable_fallback=True):
        self.providers = providers
        self.enable_fallback = enable_fallback
        self._stats_lock = threading.Lock()
        self.request_count = 0
        self.total_cost = 0.0

    def _update_stats(self, cost):
        with self._stats_lock:
            self.request_count += 1
            self.total_cost += cost

    def reset_stats(self):
        self.request_count = 0
        self.total_cost = 0.0

    def complete(self, prompt, provider="primary"):
        try:
            answer, cost = self.providers[provider](prompt)
        except Exception:
            if self.enable_fallback:
                other = "secondary" if provider == "primary" else "primary"
                return self.complete(prompt, provider=other)
            raise
        self._update_stats(cost)
        return answer
