"""A cache whose own expiry thread (started once in __init__) is the only writer of its
expiry counter; clear() only stores zero."""

import threading
import time


class ExpiringCache:
    def __init__(self, interval=1.0):
        self.interval = interval
        self.clear()
        self._expirer = threading.Thread(target=self._expire_forever, daemon=True)
        self._expirer.start()

    def clear(self):
        self.entries = {}
        self.expired_total = 0

    def _expire_forever(self):
        while True:
            now = time.monotonic()
            for key, (deadline, _value) in list(self.entries.items()):
                if deadline <= now:
                    self.entries.pop(key, None)
                    self.expired_total += 1
            time.sleep(self.interval)
