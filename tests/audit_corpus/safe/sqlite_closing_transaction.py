"""A module function: one connection per call, the write inside `with conn:`."""

import sqlite3
from contextlib import closing


def add_package(path, name):
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("INSERT INTO packages (name) VALUES (?)", (name,))
