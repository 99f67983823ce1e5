"""A lock-owning transport whose packetizer, used by the transport's own thread only,
starts a timer lazily: the lock guards the transport's queue, not the timer."""

import threading


class Packetizer:
    def __init__(self):
        self._lock = threading.Lock()
        self._pending = []
        self._timer = None

    def start_handshake(self, timeout):
        if self._timer is None:
            self._timer = threading.Timer(timeout, self.timed_out)
            self._timer.start()

    def timed_out(self):
        pass

    def push(self, item):
        with self._lock:
            self._pending.append(item)
