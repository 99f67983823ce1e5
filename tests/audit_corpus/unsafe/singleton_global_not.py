# expect: singleton-global
# expect: singleton-global
"""Two lazy globals, tested with `not` and with `or`."""

import sqlite3
from collections import deque

_history = None
_undo = None


def get_history(path="history.db"):
    global _history
    if not _history:
        _history = sqlite3.connect(path)
    return _history


def get_undo_manager(force=False):
    global _undo
    if force or _undo is None:
        _undo = deque(maxlen=50)
    return _undo
