# expect: sqlite-use-after-return
"""Rows fetched from a cursor after its pooled connection was returned."""


def recent(pool, limit):
    with pool.get_connection() as conn:
        cur = conn.execute("SELECT * FROM tx ORDER BY id DESC LIMIT ?", (limit,))
    return cur.fetchall()
