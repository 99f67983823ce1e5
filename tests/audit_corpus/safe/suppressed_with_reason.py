"""Findings suppressed inline with a reason do not count."""

import threading

_cache = None


def get_cache():
    global _cache
    if _cache is None:  # cortex-audit: ignore[singleton-global] called once from main() before threads start
        _cache = {}
    return _cache


class Counter:
    def __init__(self):
        self._lock = threading.Lock()
        self.n = 0

    def bump(self):
        # cortex-audit: ignore[shared-rmw] only the single writer thread calls bump()
        self.n += 1
