"""A database wrapper whose execute() runs the statement on a kept connection and never
commits: the tables' writes through it stay pending and are lost at exit."""
# expect: sqlite-missing-commit

import sqlite3


class Database:
    def __init__(self, path):
        self.connection = sqlite3.connect(path, isolation_level="DEFERRED")

    def execute(self, sql, args=()):
        return self.connection.execute(sql, args)


class Threads:
    def __init__(self, db):
        self.db = db

    def new(self, uri, title):
        self.db.execute("INSERT INTO threads (uri, title) VALUES (?, ?)", (uri, title))
