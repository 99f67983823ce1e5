"""The class's lock guards its connection when it closes it, yet get() opens one
lazily without the lock: two threads both see None and each open a connection. Reported
at ``info`` only (``singleton-instance-attr`` is informational: see
singleton_instance_attr_info.py)."""

import threading


class Client:
    def __init__(self, factory):
        self._lock = threading.Lock()
        self._factory = factory
        self._conn = None

    def get(self):
        if self._conn is None:
            self._conn = self._factory()
        return self._conn

    def close(self):
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
