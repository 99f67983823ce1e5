# expect: sqlite-shared-connection
# expect: sqlite-shared-connection
"""A connection and a cursor kept on the object, used from a thread pool."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor


class Memory:
    def __init__(self, path):
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.cursor = self.conn.cursor()

    def remember(self, text):
        self.cursor.execute("INSERT INTO memory (text) VALUES (?)", (text,))
        self.conn.commit()


def remember_all(memory, texts):
    with ThreadPoolExecutor() as pool:
        list(pool.map(memory.remember, texts))
