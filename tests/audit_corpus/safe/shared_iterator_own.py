"""The animation thread builds its own iterator; other callers never touch it."""

import itertools
import threading


class Spinner:
    FRAMES = "|/-\\"

    def __init__(self):
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._animate, daemon=True)
        self._thread.start()

    def _animate(self):
        frames = itertools.cycle(self.FRAMES)
        while not self._stop.wait(0.1):
            print(next(frames), end="")
