"""One method handed to one thread object: only that thread runs it, and the class's lock
guards something else (its stop flag)."""

import threading


class Watcher(threading.Thread):
    def __init__(self, process, callback):
        super().__init__(daemon=True)
        self.process = process
        self.callback = callback

    def run(self):
        self.process.wait()
        self.callback()


class AutoRestart:
    def __init__(self, start):
        self._start = start
        self._stopping_lock = threading.RLock()
        self._stopping = False
        self.restart_count = 0

    def start(self):
        Watcher(self._start(), self._restart).start()

    def stop(self):
        with self._stopping_lock:
            self._stopping = True

    def _restart(self):
        self._start()
        self.restart_count += 1
