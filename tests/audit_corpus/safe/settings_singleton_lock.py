"""Settings made only by the module's singleton: the lock made in ``__init__`` is made
once per process, so every thread that saves takes the same lock."""

import os
import threading

import yaml

_instance = None
_instance_lock = threading.Lock()


class Settings:
    def __init__(self, path):
        self._path = path
        self._lock = threading.RLock()
        self._data = {}

    def save(self):
        with self._lock:
            partial = self._path + ".partial"
            with open(partial, "w") as f:
                yaml.safe_dump(self._data, f)
            os.replace(partial, self._path)


def settings(path=None):
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = Settings(path)
        return _instance
