# expect: sqlite-missing-commit
"""An early return skips the commit."""

import sqlite3


def update_status(path, tx_id, status):
    conn = sqlite3.connect(path)
    conn.execute("UPDATE tx SET status = ? WHERE id = ?", (status, tx_id))
    if status == "unknown":
        return False
    conn.commit()
    return True
