# expect: shared-rmw
"""A module dictionary of counters bumped by worker threads."""

import threading

counts = {}


def worker(words):
    for word in words:
        counts[word] += 1


def run(chunks):
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
