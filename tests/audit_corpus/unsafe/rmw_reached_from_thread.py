# expect: shared-rmw
"""A poller without a lock: its thread reaches the tick counter through a helper, and
the callers' thread resets nothing but can call poll_now(), which runs the same helper."""

import threading
import time


class Poller:
    def __init__(self, source):
        self.source = source
        self.ticks = 0

    def start(self):
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            self._tick()
            time.sleep(1)

    def poll_now(self):
        self._tick()

    def _tick(self):
        self.source.poll()
        self.ticks += 1
