"""The timer's thread only reads the counters (a report); increments happen on the
caller's thread alone, so no two threads change the counters."""

import threading


class Meter:
    def __init__(self):
        self.counts = {}
        self.timer = threading.Timer(60, self._report)
        self.timer.start()

    def _report(self):
        print(sorted(self.counts.items()))

    def hit(self, key):
        self.counts[key] = self.counts.get(key, 0)
        self.counts[key] += 1
