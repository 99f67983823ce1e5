"""A module-level cache made at import on every path: the lazy branch of clear() is dead,
because nothing ever sets the global back to None."""

import os


class NullCache:
    def clear(self):
        return True


class DiskCache(NullCache):
    def __init__(self, directory):
        self.directory = directory


if os.environ.get("APP_NO_CACHE"):
    cache = NullCache()
else:
    cache = DiskCache("/var/cache/app")


def clear():
    global cache
    if not cache:
        cache = DiskCache("/var/cache/app")
    return cache.clear()


def disable():
    global cache
    cache = NullCache()
