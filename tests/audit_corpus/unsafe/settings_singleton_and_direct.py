# expect: file-per-instance-lock
"""The same settings class, also made directly by a command: that second instance has its
own lock, and saves the same file while the singleton's does."""

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


def reset_command(path):
    Settings(path).save()
