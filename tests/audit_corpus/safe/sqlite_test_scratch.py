"""A test that checks what executemany() returns, on a scratch database its setUp deletes:
the rows are never meant to outlive the connection. Shape of a false positive found in a
real library's tests."""

import sqlite3
import unittest
from pathlib import Path

SCRATCH = Path("scratch.db")


class CursorTest(unittest.TestCase):
    def setUp(self):
        SCRATCH.unlink(missing_ok=True)

    def test_executemany_returns_the_cursor(self):
        db = sqlite3.connect(SCRATCH)
        cursor = db.cursor()
        cursor.execute("create table t (i integer)")
        result = cursor.executemany("insert into t values (?)", [(1,), (2,)])
        self.assertIs(result, cursor)
        db.close()
