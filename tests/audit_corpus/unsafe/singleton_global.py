# expect: singleton-global
"""A module-level detector created on first use, upstream style: each detector makes
the lock that guards its cache file, so two detectors do not exclude each other."""

import threading


class Detector:
    def __init__(self):
        self._cache_lock = threading.RLock()


_detector = None


def get_detector():
    global _detector
    if _detector is None:
        _detector = Detector()
    return _detector
