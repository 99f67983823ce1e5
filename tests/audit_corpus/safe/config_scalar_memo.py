"""A memo of a boolean read from the configuration: a duplicate read gives the same value."""

import threading


class Names:
    def __init__(self, config):
        self._lock = threading.Lock()
        self._config = config
        self._incremental = None
        self.pending = []

    def incremental(self):
        if self._incremental is None:
            self._incremental = self._config.getboolean("names", "incremental", fallback=False)
        return self._incremental

    def add(self, name):
        with self._lock:
            self.pending.append(name)
