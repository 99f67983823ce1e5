"""A session saved by a method that asserts the session's lock is held; loading takes
the same lock first."""

import pickle
import threading


class FileSession:
    def __init__(self, path):
        self.path = path
        self.locked = False
        self._lock = threading.Lock()
        self.data = {}

    def acquire_lock(self):
        self._lock.acquire()
        self.locked = True

    def release_lock(self):
        self.locked = False
        self._lock.release()

    def save(self):
        assert self.locked, "the session was saved without being locked"
        with open(self.path, "wb") as f:
            pickle.dump(self.data, f)

    def load(self):
        self.acquire_lock()
        try:
            with open(self.path, "rb") as f:
                self.data = pickle.load(f)
        finally:
            self.release_lock()
