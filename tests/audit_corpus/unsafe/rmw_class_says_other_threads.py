# expect: shared-rmw
"""A response cache whose own documentation says request threads share it."""

import threading


class ResponseCache:
    """Responses by URL for the whole application."""

    wait_seconds = 5
    """Seconds to wait for other threads to finish computing the same entry."""

    def __init__(self):
        self.store = {}
        self.gets = 0
        self.ready = threading.Event()

    def get(self, url):
        self.gets += 1
        return self.store.get(url)
