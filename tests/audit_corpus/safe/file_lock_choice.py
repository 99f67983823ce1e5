"""The lock is a cross-process file lock unless the caller opts into a thread lock, and
readers take it too: the writes under it are not per-instance."""

import os
import threading

from filelock import FileLock


class FileStore:
    def __init__(self, path, use_thread_lock=False):
        self.path = path
        if use_thread_lock:
            self.lock = threading.Lock()
        else:
            self.lock = FileLock(os.path.join(path, ".lock"))

    def put(self, key, value):
        with self.lock:
            with open(self.filename(key), "wb") as handle:
                handle.write(value)

    def get(self, key):
        with self.lock:
            with open(self.filename(key), "rb") as handle:
                return handle.read()

    def filename(self, key):
        return os.path.join(self.path, key)
