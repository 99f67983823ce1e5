"""Counts kept in a local of the submitting function, changed by the pool's workers
under a lock the function made: the read-modify-write is whole."""

import threading
from concurrent.futures import ThreadPoolExecutor


def install_all(packages, install):
    counts = {"ok": 0, "failed": 0}
    counts_lock = threading.Lock()

    def one(package):
        outcome = "ok" if install(package) else "failed"
        with counts_lock:
            counts[outcome] += 1

    with ThreadPoolExecutor(max_workers=4) as pool:
        for package in packages:
            pool.submit(one, package)
    return counts
