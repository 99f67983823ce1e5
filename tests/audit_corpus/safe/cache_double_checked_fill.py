"""A cache looked up under the lock, computed outside it, and filled only after a second
check under the lock: a thread that lost the race finds the first entry and keeps it."""

import threading


class CachedStorage:
    def __init__(self, backend):
        self._backend = backend
        self._lock = threading.Lock()
        self._names = {}

    def study_name(self, study_id):
        with self._lock:
            if study_id in self._names:
                return self._names[study_id]
        name = self._backend.study_name(study_id)
        with self._lock:
            if study_id not in self._names:
                self._names[study_id] = name
            return self._names[study_id]
