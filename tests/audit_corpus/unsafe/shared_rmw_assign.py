# expect: shared-rmw
"""self.x = self.x + 1 is the same read-modify-write, on a process-wide singleton."""

import threading


class Degradation:
    def __init__(self):
        self.failures = 0
        self._lock = threading.Lock()

    def report_failure(self):
        self.failures = self.failures + 1
        return self.failures


_manager = None
_manager_lock = threading.Lock()


def get_degradation():
    global _manager
    if _manager is None:
        with _manager_lock:
            if _manager is None:
                _manager = Degradation()
    return _manager
