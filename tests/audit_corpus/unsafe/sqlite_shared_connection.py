# expect: sqlite-shared-connection
"""One connection for every thread, no lock: the history is a process-wide singleton."""

import sqlite3
import threading


class History:
    def __init__(self, path):
        self._conn = sqlite3.connect(path, check_same_thread=False)

    def add(self, package):
        self._conn.execute("INSERT INTO history (package) VALUES (?)", (package,))
        self._conn.commit()

    def count(self):
        return self._conn.execute("SELECT count(*) FROM history").fetchone()[0]


_history = None
_history_lock = threading.Lock()


def get_history(path):
    global _history
    if _history is None:
        with _history_lock:
            if _history is None:
                _history = History(path)
    return _history
