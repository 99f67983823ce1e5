# expect: sqlite-shared-connection
"""A module-level connection shared by every caller."""

import sqlite3

CONN = sqlite3.connect("limits.db", check_same_thread=False)


def set_limit(name, value):
    with CONN:
        CONN.execute("UPDATE limits SET value = ? WHERE name = ?", (value, name))
