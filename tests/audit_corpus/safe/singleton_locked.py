"""Double-checked locking around a module global."""

import threading

_lock = threading.Lock()
_detector = None


def get_detector():
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                _detector = object()
    return _detector
