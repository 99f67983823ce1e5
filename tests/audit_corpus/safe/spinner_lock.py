"""The shared cycle is advanced only under the lock."""

import itertools
import threading


class Spinner:
    def __init__(self):
        self._lock = threading.Lock()  # guards _frames
        self._frames = itertools.cycle("-\\|/")
        self._stop = threading.Event()

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self._stop.wait(0.1):
            with self._lock:
                frame = next(self._frames)
            print(frame, end="\r")
