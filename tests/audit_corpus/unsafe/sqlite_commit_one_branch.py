# expect: sqlite-missing-commit
"""A delete committed on one branch only."""

import sqlite3


def cleanup(path, days, dry_run):
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM history WHERE age > ?", (days,))
    if not dry_run:
        conn.commit()
    conn.close()
