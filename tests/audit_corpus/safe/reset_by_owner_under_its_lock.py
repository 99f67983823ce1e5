"""A channel's window is reset only by the transport that opens it, while the transport
holds its own lock and before anyone else has the channel: the reset is not racing."""

import threading


class Channel:
    def __init__(self, chanid):
        self.chanid = chanid
        self.lock = threading.Lock()
        self.in_window_sofar = 0

    def _check_add_window(self, n):
        with self.lock:
            self.in_window_sofar += n

    def _set_window(self, window_size):
        self.in_window_size = window_size
        self.in_window_sofar = 0


class Transport:
    def __init__(self):
        self.lock = threading.Lock()
        self._channels = {}

    def open_channel(self, chanid, window_size):
        self.lock.acquire()
        try:
            chan = Channel(chanid)
            self._channels[chanid] = chan
            chan._set_window(window_size)
        finally:
            self.lock.release()
        return chan
