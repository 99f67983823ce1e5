"""A connection pool whose checkout hands the connection back as it is: no commit, no
rollback. Whatever a caller wrote stays pending on a connection the next caller gets."""

import queue
import sqlite3
import threading
from contextlib import contextmanager


class ConnectionPool:
    def __init__(self, path, size=4):
        self.path = path
        self._pool = queue.Queue(maxsize=size)
        for _ in range(size):
            self._pool.put(sqlite3.connect(path, check_same_thread=False))

    @contextmanager
    def get_connection(self):
        conn = self._pool.get(timeout=5.0)
        try:
            yield conn
        finally:
            self._pool.put(conn, block=False)


_pools = {}
_pools_lock = threading.Lock()


def get_pool(path):
    with _pools_lock:
        if path not in _pools:
            _pools[path] = ConnectionPool(path)
        return _pools[path]
