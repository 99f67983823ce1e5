"""A checkout that commits when asked to (a task queue's storage): writes inside it are
committed by the context manager, defined in the same tree."""

import contextlib
import sqlite3


class Storage:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    @contextlib.contextmanager
    def db(self, commit=False):
        cursor = self.conn.cursor()
        try:
            yield cursor
        except Exception:
            if commit:
                self.conn.rollback()
            raise
        else:
            if commit:
                self.conn.commit()
        finally:
            cursor.close()

    def dequeue(self, name):
        with self.db(commit=True) as curs:
            curs.execute("SELECT id FROM task WHERE queue = ? LIMIT 1", (name,))
            row = curs.fetchone()
            if row is not None:
                curs.execute("DELETE FROM task WHERE id = ?", (row[0],))
                return row[0]
        return None
