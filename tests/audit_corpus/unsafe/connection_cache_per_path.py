# expect: singleton-class-cache
"""A module-level cache of SQLite connections per database path, checked then filled
without a lock: two threads opening one path at once each connect, one connection is
dropped unclosed, and a transaction begun on it is lost with it."""

import sqlite3

_connections = {}


def connection_for(path):
    if path not in _connections:
        _connections[path] = sqlite3.connect(path, check_same_thread=False)
    return _connections[path]
