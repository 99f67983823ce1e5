"""Rows fetched inside the checkout are plain data: reading them afterwards is fine."""


class History:
    def __init__(self, pool):
        self._pool = pool

    def get(self, record_id):
        with self._pool.get_connection() as conn:
            cursor = conn.cursor()
            cursor.execute("SELECT id, name FROM history WHERE id = ?", (record_id,))
            row = cursor.fetchone()
        if row:
            return {"id": row[0], "name": row[1]}
        return None
