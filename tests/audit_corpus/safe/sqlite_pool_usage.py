"""Everything happens inside the checkout; the pool commits when the block ends."""


class TransactionHistory:
    def __init__(self, pool):
        self._pool = pool

    def begin_transaction(self, tx_type, packages):
        with self._pool.get_connection() as conn:
            cur = conn.execute(
                "INSERT INTO tx (type, packages) VALUES (?, ?)", (tx_type, packages)
            )
            tx_id = cur.lastrowid
        return tx_id

    def get_recent(self, limit):
        with self._pool.get_connection() as conn:
            rows = conn.execute("SELECT * FROM tx LIMIT ?", (limit,)).fetchall()
        return rows

    def twice(self):
        with self._pool.get_connection() as conn:
            conn.execute("SELECT 1")
        with self._pool.get_connection() as conn:
            conn.execute("SELECT 2")
