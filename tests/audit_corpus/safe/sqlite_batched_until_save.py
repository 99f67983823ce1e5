"""A cache that batches its writes on the connection it keeps: the deletes in
``expire()`` stay pending until ``save()`` commits them with the rest (as todoman's cache
and doit's dependency database do). The transaction is the class's own."""

import sqlite3


class Cache:
    def __init__(self, path):
        self._conn = sqlite3.connect(path)

    def expire(self, path):
        self._conn.execute("DELETE FROM files WHERE path = ?", (path,))

    def add(self, path, mtime):
        self._conn.execute("INSERT INTO files (path, mtime) VALUES (?, ?)", (path, mtime))

    def save(self):
        self._conn.commit()
