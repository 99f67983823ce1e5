"""A file lock and a connection entered by one with statement: the connection's own
context manager commits, the lock only excludes other processes."""

import fcntl
import sqlite3
from contextlib import contextmanager


class Store:
    def __init__(self, directory):
        self.directory = directory

    @contextmanager
    def exclusive_lock(self):
        with open(f"{self.directory}/.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def connect(self):
        with sqlite3.connect(f"{self.directory}/db.db") as db:
            yield db

    def forget(self, repo):
        with self.exclusive_lock(), self.connect() as db:
            db.execute("DELETE FROM repos WHERE repo = ?", (repo,))
