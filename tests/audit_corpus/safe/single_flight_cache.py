"""Check and fill under separate locks, but misses are single-flight per key."""

import threading

from cortex.utils.thread_utils import SingleFlight


class ResolutionCache:
    def __init__(self, resolve):
        self._resolve = resolve
        self._flight = SingleFlight()
        self._lock = threading.Lock()  # guards _results
        self._results = {}

    def _fill(self, package):
        with self._lock:
            cached = self._results.get(package)
        if cached is not None:
            return cached
        result = self._resolve(package)
        with self._lock:
            self._results[package] = result
        return result

    def get(self, package):
        with self._lock:
            cached = self._results.get(package)
        if cached is not None:
            return cached
        return self._flight.do(package, lambda: self._fill(package))

    def one_lock(self, package):
        with self._lock:
            if package not in self._results:
                self._results[package] = self._resolve(package)
            return self._results[package]
