# expect: shared-rmw
"""An in-memory rate-limit store: request threads increment the counters in incr(),
while the expiry timer's thread pops expired keys from the same Counter. Nothing in the
module starts the request threads, but the timer is a second thread changing the same
attribute, so an increment can resurrect a popped key or be lost."""

import threading
import time
from collections import Counter


class MemoryStorage:
    def __init__(self):
        self.storage = Counter()
        self.expirations = {}
        self.timer = threading.Timer(0.01, self._expire)
        self.timer.start()

    def _expire(self):
        for key in list(self.expirations):
            if self.expirations[key] <= time.time():
                self.storage.pop(key, None)
                self.expirations.pop(key, None)

    def incr(self, key, expiry, amount=1):
        self.storage[key] += amount
        self.expirations[key] = time.time() + expiry
        return self.storage[key]
