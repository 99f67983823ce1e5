"""The expiry thread lowers the size that request threads raise with a split
read-modify-write: the two updates race."""

# expect: shared-rmw

import threading
import time


class SizedCache:
    def __init__(self, interval=1.0):
        self.interval = interval
        self.entries = {}
        self.size = 0
        self._expirer = threading.Thread(target=self._expire_forever, daemon=True)
        self._expirer.start()

    def put(self, key, value, nbytes, ttl):
        new_size = self.size + nbytes
        self.entries[key] = (time.monotonic() + ttl, value, nbytes)
        self.size = new_size

    def _expire_forever(self):
        while True:
            now = time.monotonic()
            for key, (deadline, _value, nbytes) in list(self.entries.items()):
                if deadline <= now:
                    self.entries.pop(key, None)
                    self.size -= nbytes
            time.sleep(self.interval)
