"""Hardware detection: a lazy global singleton, and a cache file shared by every instance
but guarded by a lock each instance makes for itself."""

import json
import threading
from pathlib import Path


class HardwareDetector:
    CACHE_FILE = Path.home() / ".appcore" / "hardware_cache.json"

    def __init__(self):
        self._cache_lock = threading.RLock()

    def save_cache(self, info):
        with self._cache_lock:
            with open(self.CACHE_FILE, "w") as handle:
                json.dump(info, handle)


_detector = None


def get_detector():
    global _detector
    if _detector is None:
        _detector = HardwareDetector()
    return _detector
