# expect: singleton-global
# expect: shared-rmw
# expect: file-in-place-write
"""Several patterns in one module, as in a real application."""

import json
import threading

_service = None
STATE_FILE = "/var/lib/cortex/service.json"


class Service:
    def __init__(self):
        self.calls = 0
        self._lock = threading.Lock()

    def handle(self):
        self.calls += 1

    def save(self):
        with self._lock:
            snapshot = {"calls": self.calls}
        with open(STATE_FILE, "w") as f:
            json.dump(snapshot, f)


def get_service():
    global _service
    if _service is None:
        _service = Service()
    return _service
