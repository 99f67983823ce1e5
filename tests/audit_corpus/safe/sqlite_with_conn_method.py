"""A stored connection used as a transaction context manager, with a lock."""

import sqlite3
import threading


class Ledger:
    def __init__(self, path):
        self._lock = threading.Lock()  # guards _db
        self._db = sqlite3.connect(path, check_same_thread=False)

    def add(self, amount):
        with self._lock, self._db:
            self._db.execute("INSERT INTO ledger (amount) VALUES (?)", (amount,))
