# expect: file-in-place-write
"""A session saved by a method that only logs when the lock is not held, and goes on:
nothing stops a reader from seeing the file half written."""

import logging
import pickle
import threading


class FileSession:
    def __init__(self, path):
        self.path = path
        self.locked = False
        self._lock = threading.Lock()
        self.data = {}

    def save(self):
        if not self.locked:
            logging.warning("saving an unlocked session")
        with open(self.path, "wb") as f:
            pickle.dump(self.data, f)
