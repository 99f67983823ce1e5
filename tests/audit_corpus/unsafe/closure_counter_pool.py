# expect: shared-rmw
"""A function handed to a thread pool counts outcomes in a dict of the function that
submits it: every worker runs ``counts[outcome] += 1`` on the one dict, without a lock."""

from concurrent.futures import ThreadPoolExecutor


def install_all(packages, install):
    counts = {"ok": 0, "failed": 0}

    def one(package):
        outcome = "ok" if install(package) else "failed"
        counts[outcome] += 1

    with ThreadPoolExecutor(max_workers=4) as pool:
        for package in packages:
            pool.submit(one, package)
    return counts
