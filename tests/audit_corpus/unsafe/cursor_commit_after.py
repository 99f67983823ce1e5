# expect: sqlite-use-after-return
"""Commit called on the connection after the pool took it back."""


def mark_done(pool, tx_id):
    with pool.get_connection() as conn:
        conn.execute("UPDATE tx SET status = 'done' WHERE id = ?", (tx_id,))
    conn.commit()
