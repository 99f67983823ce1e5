# expect: singleton-global
"""A lock exists but the assignment happens outside it."""

import threading

_lock = threading.Lock()
_manager = None


def get_manager():
    global _manager
    if _manager is None:
        with _lock:
            pass
        _manager = Manager()
    return _manager


class Manager:
    mode = "full"
