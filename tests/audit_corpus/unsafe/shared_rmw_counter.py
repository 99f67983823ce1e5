# expect: shared-rmw
# expect: shared-rmw
"""Router statistics updated from worker threads."""

import threading


class LLMRouter:
    def __init__(self):
        self._lock = threading.Lock()
        self.total_tokens = 0
        self.requests = {}

    def record(self, provider, tokens):
        self.total_tokens += tokens
        self.requests[provider] += 1

    def reset_stats(self):
        with self._lock:
            self.total_tokens = 0
