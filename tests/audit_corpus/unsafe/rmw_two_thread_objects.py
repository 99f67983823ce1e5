# expect: shared-rmw
"""One method handed to two thread objects (a debouncer and a process watcher): each
calls it on its own thread, so the unlocked count is updated from two threads at once."""

import threading


class Debouncer(threading.Thread):
    def __init__(self, callback):
        super().__init__(daemon=True)
        self.callback = callback

    def run(self):
        self.callback()


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
        self.restart_count = 0

    def start(self):
        Debouncer(lambda: self._restart()).start()
        Watcher(self._start(), self._restart).start()

    def _restart(self):
        self._start()
        self.restart_count += 1
