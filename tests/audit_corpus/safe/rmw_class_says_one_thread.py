"""A parser whose documentation says each instance belongs to one thread."""

import threading


class Parser:
    """Incremental parser; not thread-safe: other threads must make their own."""

    def __init__(self):
        self.offset = 0
        self.done = threading.Event()

    def feed(self, data):
        self.offset += len(data)


class Retrying:
    """Retries a call; the statistics are local to the thread running the call, so
    multiple threads sharing one object each see their own."""

    def __init__(self):
        self._local = threading.local()

    @property
    def statistics(self):
        return self._local.__dict__.setdefault("statistics", {"attempts": 0})

    def attempt(self):
        self.statistics["attempts"] += 1
