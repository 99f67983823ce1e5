# expect: shared-iterator
"""A spinner thread and the caller share one itertools.cycle."""

import itertools
import sys
import threading
import time


class Spinner:
    def __init__(self):
        self._frames = itertools.cycle("|/-\\")
        self._running = False

    def start(self):
        self._running = True
        threading.Thread(target=self._animate, daemon=True).start()

    def _animate(self):
        while self._running:
            sys.stdout.write(next(self._frames))
            time.sleep(0.1)

    def stop(self):
        self._running = False
