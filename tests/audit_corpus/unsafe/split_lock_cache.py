# expect: split-lock-check-then-act
"""Upstream's resolver cache: looked up under one lock, filled under another."""

import threading


class DependencyResolver:
    def __init__(self):
        self._cache_lock = threading.Lock()
        self._fill_lock = threading.Lock()
        self._cache = {}

    def resolve(self, package):
        with self._cache_lock:
            if package in self._cache:
                return self._cache[package]
        closure = self._closure(package)
        with self._fill_lock:
            self._cache[package] = closure
        return closure

    def _closure(self, package):
        return [package]
