# expect: shared-rmw
# expect: shared-rmw
"""Router statistics updated from worker threads."""

import threading
from concurrent.futures import ThreadPoolExecutor


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


def serve(router, requests):
    with ThreadPoolExecutor(8) as pool:
        for provider, tokens in requests:
            pool.submit(router.record, provider, tokens)
