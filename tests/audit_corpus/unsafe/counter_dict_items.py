# expect: shared-rmw
"""Per-provider token totals from an executor."""

from concurrent.futures import ThreadPoolExecutor


class Usage:
    def __init__(self):
        self.tokens = {"claude": 0, "kimi": 0}

    def add(self, provider, n):
        self.tokens[provider] += n


def run(usage, jobs):
    with ThreadPoolExecutor(4) as ex:
        for provider, n in jobs:
            ex.submit(usage.add, provider, n)
