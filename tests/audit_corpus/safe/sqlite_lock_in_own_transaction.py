"""One write connection shared by threads, every use inside the class's own transaction()
context manager, which holds the write lock around its yield (re-entrantly for the owner)."""

import sqlite3
import threading
from contextlib import contextmanager


class JobQueue:
    def __init__(self, path):
        self._write_lock = threading.RLock()
        self._owner = None
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    @contextmanager
    def transaction(self):
        with self._write_lock:
            self.conn.execute("BEGIN IMMEDIATE")
            self._owner = threading.get_ident()
            try:
                yield
            except BaseException:
                self.conn.rollback()
                raise
            else:
                self.conn.commit()
            finally:
                self._owner = None

    @contextmanager
    def _transaction_unless_owned(self):
        me = threading.get_ident()
        owned = self._owner == me
        if owned:
            yield
            return
        with self.transaction():
            yield

    def put(self, payload):
        with self._transaction_unless_owned():
            self.conn.execute("INSERT INTO jobs (payload) VALUES (?)", (payload,))

    def take(self):
        with self.transaction():
            row = self.conn.execute("SELECT id, payload FROM jobs LIMIT 1").fetchone()
            if row is not None:
                self.conn.execute("DELETE FROM jobs WHERE id = ?", (row[0],))
        return row
