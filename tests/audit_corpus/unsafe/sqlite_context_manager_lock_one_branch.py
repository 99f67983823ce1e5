"""A context manager that holds the lock on one branch only: the fast path yields the
shared connection to any thread without it."""

# expect: sqlite-shared-connection

import sqlite3
import threading
from contextlib import contextmanager


class JobQueue:
    def __init__(self, path):
        self._lock = threading.Lock()
        self.busy = False
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    @contextmanager
    def writing(self):
        if not self.busy:
            yield
            return
        with self._lock:
            yield

    def put(self, payload):
        with self.writing():
            self.conn.execute("INSERT INTO jobs (payload) VALUES (?)", (payload,))
