# expect: file-per-instance-lock
# expect: file-in-place-write
"""Preferences under a module constant path, per-instance lock, in-place write."""

import threading

import yaml

PREFERENCES = "/etc/cortex/preferences.yaml"


class Preferences:
    def __init__(self):
        self._lock = threading.RLock()
        self.path = PREFERENCES

    def set(self, key, value):
        with self._lock:
            with open(self.path) as f:
                data = yaml.safe_load(f) or {}
            data[key] = value
            with open(self.path, "w") as f:
                yaml.safe_dump(data, f)
