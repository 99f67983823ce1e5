"""Locals, thread-locals and per-call objects are not shared."""

import threading
from collections import Counter

_local = threading.local()


class Depth:
    def __init__(self):
        self._tls = threading.local()

    def enter(self):
        self._tls.depth = getattr(self._tls, "depth", 0) + 1
        self._tls.depth += 1


def count_words(words):
    total = 0
    counts = Counter()
    for word in words:
        total += 1
        counts[word] += 1
    _local.calls = getattr(_local, "calls", 0)
    _local.calls += 1
    return total, counts
