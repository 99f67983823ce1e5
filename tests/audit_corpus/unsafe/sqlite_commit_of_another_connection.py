# expect: sqlite-missing-commit
"""Two module-level connections: ``flush()`` commits the audit database, but nothing ever
commits the history written in ``record()``, so every record is lost at exit."""

import sqlite3

history = sqlite3.connect("history.db")
audit_db = sqlite3.connect("audit.db")


def record(package, action):
    history.execute("INSERT INTO history (package, action) VALUES (?, ?)", (package, action))


def note(event):
    audit_db.execute("INSERT INTO events (event) VALUES (?)", (event,))


def flush():
    audit_db.commit()
