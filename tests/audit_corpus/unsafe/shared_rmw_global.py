# expect: shared-rmw
# expect: shared-rmw
"""Module counters bumped from a thread pool."""

from concurrent.futures import ThreadPoolExecutor

HITS = 0
STATS = {"misses": 0}


def lookup(key):
    global HITS
    HITS += 1
    STATS["misses"] = STATS["misses"] + 1
    return key


def run(keys):
    with ThreadPoolExecutor() as pool:
        return list(pool.map(lookup, keys))
