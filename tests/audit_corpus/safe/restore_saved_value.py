"""Saving and restoring an attribute around a reset is not a read-modify-write."""

import threading


class Pool:
    def __init__(self):
        self._init_state()

    def _init_state(self):
        self._lock = threading.Lock()
        self._closed = False

    def after_fork(self):
        closed = self._closed
        self._init_state()
        self._closed = closed

    def snapshot(self):
        with self._lock:
            closed = self._closed
            self._closed = not closed
