"""A file guarded by a module-level lock and a cross-process lock, written atomically."""

import json
import threading

from filelock import FileLock

from cortex.utils.atomic_file import atomic_write_text

CACHE = "/var/lib/cortex/cache.json"
_cache_lock = threading.Lock()  # guards CACHE in this process


class CacheWriter:
    def __init__(self):
        self._lock = threading.Lock()  # guards self.pending only
        self.pending = []

    def flush(self):
        with _cache_lock, FileLock(CACHE + ".lock"):
            atomic_write_text(CACHE, json.dumps(self.pending))

    def add(self, item):
        with self._lock:
            self.pending.append(item)
