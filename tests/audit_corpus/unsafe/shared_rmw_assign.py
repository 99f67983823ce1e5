# expect: shared-rmw
"""self.x = self.x + 1 is the same read-modify-write."""

import threading


class Degradation:
    def __init__(self):
        self.failures = 0
        self._lock = threading.Lock()

    def report_failure(self):
        self.failures = self.failures + 1
        return self.failures
