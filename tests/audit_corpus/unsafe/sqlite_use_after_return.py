# expect: sqlite-use-after-return
"""The upstream installation-history bug: commit after the connection went back.
(Reading ``cursor.lastrowid`` afterwards is fine: the cursor keeps that value.)"""


class InstallationHistory:
    def __init__(self, pool):
        self._pool = pool

    def record_installation(self, op_type, packages):
        with self._pool.get_connection() as conn:
            cursor = conn.cursor()
            cursor.execute(
                "INSERT INTO installations (op, packages) VALUES (?, ?)", (op_type, packages)
            )
        conn.commit()
        return cursor.lastrowid
