# expect: file-per-instance-lock
"""Upstream's hardware detector: a lock per instance, one cache file for all."""

import json
import os
import tempfile
import threading
from pathlib import Path


class HardwareDetector:
    CACHE_FILE = Path.home() / ".cortex" / "hardware_cache.json"

    def __init__(self):
        self._lock = threading.Lock()

    def save(self, info):
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=self.CACHE_FILE.parent)
            with os.fdopen(fd, "w") as f:
                json.dump(info, f)
            os.replace(tmp, self.CACHE_FILE)
