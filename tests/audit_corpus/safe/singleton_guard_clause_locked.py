"""A guard clause for the fast path, then the creation checked again under a lock."""

import threading

_detector = None
_detector_lock = threading.Lock()


class HardwareDetector:
    def __init__(self):
        self.cache = {}


def get_detector():
    global _detector
    if _detector is not None:
        return _detector
    with _detector_lock:
        if _detector is None:
            _detector = HardwareDetector()
    return _detector
