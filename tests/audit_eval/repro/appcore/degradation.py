"""A degradation manager every caller shares (a lazily built global): its failure counter
is a read-modify-write without a lock."""

import threading


class DegradationManager:
    def __init__(self):
        self.failures = 0
        self.mode = "full"

    def record_failure(self):
        self.failures += 1
        if self.failures >= 3:
            self.mode = "cached"


_manager = None
_manager_lock = threading.Lock()


def get_manager():
    global _manager
    if _manager is None:
        with _manager_lock:
            if _manager is None:
                _manager = DegradationManager()
    return _manager
