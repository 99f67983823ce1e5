"""A database wrapper whose execute() runs each statement in a transaction it commits
(``with sqlite3.connect(path) as con``): the tables' writes through it are committed."""

import sqlite3


class Database:
    def __init__(self, path):
        self.path = path

    def execute(self, sql, args=()):
        with sqlite3.connect(self.path) as con:
            return con.execute(sql, args)


class Threads:
    def __init__(self, db):
        self.db = db

    def new(self, uri, title):
        self.db.execute("INSERT INTO threads (uri, title) VALUES (?, ?)", (uri, title))
