"""A coroutine creates its writer queue and thread on first use, with no await between
the check and the assignment: other coroutines cannot run in between, and no thread
other than the event loop's calls it (the writer thread runs only _drain)."""

import queue
import threading


class Database:
    def __init__(self, connect):
        self._connect = connect
        self._queue = None
        self._thread = None

    async def execute_write(self, fn):
        if self._queue is None:
            self._queue = queue.Queue()
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, daemon=True)
            self._thread.start()
        self._queue.put(fn)

    def _drain(self):
        conn = self._connect()
        while True:
            self._queue.get()(conn)
