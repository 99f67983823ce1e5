# expect: singleton-global
# expect: file-per-instance-lock
"""Settings made only by a singleton that checks and assigns without a lock: two first
callers each make one, each with its own lock, and both save the same file."""

import os
import threading

import yaml

_instance = None


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
    if _instance is None:
        _instance = Settings(path)
    return _instance
