"""A write committed unless the caller asks to commit itself (a batch of changes)."""

import sqlite3
import threading


class Bookmarks:
    def __init__(self, path):
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False)

    def retag(self, old, new, delay_commit=False):
        with self.lock:
            self.conn.execute("UPDATE bookmarks SET tag = ? WHERE tag = ?", (new, old))
            if not delay_commit:
                self.conn.commit()

    def retag_all(self, pairs):
        with self.lock:
            for old, new in pairs:
                self.retag(old, new, delay_commit=True)
            self.conn.commit()
