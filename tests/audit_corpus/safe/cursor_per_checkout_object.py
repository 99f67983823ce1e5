"""A connection wrapper that keeps the cursor of its current `with` block: its users hold
a transaction lock around every block (in another module), and the class itself is never
shown to be shared. Reported only as info."""

import threading


class PooledConn:
    def __init__(self, conn):
        self._conn = conn
        self._cursor = None

    def __enter__(self):
        self._cursor = self._conn.cursor()
        return self._conn

    def __exit__(self, *exc):
        self._cursor.close()


TRANSACTION_LOCK = threading.Lock()
