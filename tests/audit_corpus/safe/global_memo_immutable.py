"""Memos of immutable values that every caller computes the same way (a version tuple,
an environment's name): two first callers compute it twice, and either copy is equal."""

import sqlite3
import threading

_version = None
_environment = None
_lock = threading.Lock()


def _sqlite_version():
    row = sqlite3.connect(":memory:").execute("select sqlite_version()").fetchone()
    return tuple(int(part) for part in row[0].split("."))


def sqlite_version():
    global _version
    if _version is None:
        _version = _sqlite_version()
    return _version


def _detect():
    try:
        import gevent  # noqa: F401
    except ImportError:
        return "default"
    return "gevent"


def environment():
    global _environment
    if _environment is None:
        _environment = _detect()
    return _environment
