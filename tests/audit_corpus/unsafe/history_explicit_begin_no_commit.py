# expect: sqlite-missing-commit
"""The same store with the COMMIT statement left out: the explicit BEGIN opens a
transaction nothing ends, so the row is never committed."""

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
            except Exception:
                self.connection.execute("ROLLBACK")
                raise
