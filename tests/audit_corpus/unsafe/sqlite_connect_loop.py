# expect: sqlite-connect-per-call
"""A connection per item of a batch."""

import sqlite3


def record_all(path, packages):
    for name in packages:
        conn = sqlite3.connect(path)
        conn.execute("INSERT INTO installed (name) VALUES (?)", (name,))
        conn.commit()
        conn.close()
