"""Worker threads write through the shared connection; nobody commits what they wrote."""

# expect: sqlite-missing-commit

import sqlite3
import threading


class Titles:
    def __init__(self, path):
        self.conn = sqlite3.connect(path, check_same_thread=False)

    def refresh(self, rows, fetch_title, workers=4):
        pending = list(rows)
        cond = threading.Condition()

        def work():
            while True:
                with cond:
                    if not pending:
                        return
                    row_id, url = pending.pop()
                title = fetch_title(url)
                with cond:
                    self.conn.execute("UPDATE pages SET title = ? WHERE id = ?", (title, row_id))

        threads = [threading.Thread(target=work) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
