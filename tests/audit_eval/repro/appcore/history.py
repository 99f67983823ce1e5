"""Installation history on the pool: one method finishes after giving the connection
back; the others read fetched rows after the block, which is fine."""

from appcore.utils.db_pool import get_pool


class History:
    def __init__(self, path):
        self._pool = get_pool(path)

    def record(self, package, status):
        with self._pool.get_connection() as conn:
            cursor = conn.cursor()
            cursor.execute("INSERT INTO history (package, status) VALUES (?, ?)", (package, status))
        conn.commit()
        return cursor.lastrowid

    def status(self, record_id):
        with self._pool.get_connection() as conn:
            cursor = conn.cursor()
            cursor.execute("SELECT package, status FROM history WHERE id = ?", (record_id,))
            row = cursor.fetchone()
        if row is None:
            return None
        return {"package": row[0], "status": row[1]}

    def recent(self, limit):
        with self._pool.get_connection() as conn:
            rows = conn.execute("SELECT package FROM history LIMIT ?", (limit,)).fetchall()
        return [r[0] for r in rows]
