"""A write committed only when a flag of the object says so: no caller asked for the
write to stay pending, and with the flag off it is never committed."""

# expect: sqlite-missing-commit

import sqlite3
import threading


class Bookmarks:
    def __init__(self, path):
        self.lock = threading.RLock()
        self.batching = False
        self.conn = sqlite3.connect(path, check_same_thread=False)

    def retag(self, old, new):
        with self.lock:
            self.conn.execute("UPDATE bookmarks SET tag = ? WHERE tag = ?", (new, old))
            if not self.batching:
                self.conn.commit()
