"""The lazy singleton written as a guard clause: two first callers both build one."""

# expect: singleton-global

import threading

_detector = None


class HardwareDetector:
    def __init__(self):
        self._cache_lock = threading.Lock()
        self.cache = {}


def get_detector():
    global _detector
    if _detector is not None:
        return _detector
    _detector = HardwareDetector()
    return _detector
