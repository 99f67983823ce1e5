"""A history store on one shared connection: each write runs between an explicit BEGIN and
a COMMIT statement under the store's lock, and rolls back on error."""

import sqlite3
import threading


class History:
    def __init__(self, path):
        self.connection = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()

    def add(self, entry):
        with self._lock:
            try:
                self.connection.execute("BEGIN")
                self.connection.execute("INSERT INTO history (entry) VALUES (?)", (entry,))
                self.connection.execute("COMMIT")
            except Exception:
                self.connection.execute("ROLLBACK")
                raise
