# expect: singleton-class-cache
"""The class keeps one scratch database for every instance, made by the first __init__
(lockfile's SQLite lock): instances are made on many threads, so two first ones each
create a database file, and their locks end up in two different databases."""

import os
import sqlite3
import tempfile


class DbLock:
    testdb = None

    def __init__(self, name):
        self.name = name
        if DbLock.testdb is None:
            fd, path = tempfile.mkstemp()
            os.close(fd)
            DbLock.testdb = path
        self.connection = sqlite3.connect(DbLock.testdb)
