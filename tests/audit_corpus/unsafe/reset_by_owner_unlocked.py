# expect: shared-reset-unlocked
"""A channel's window is reset by the transport at a renegotiation, without any lock,
while a reader thread adds to it under the channel's lock: one update is lost."""

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
        with self.lock:
            chan = Channel(chanid)
            self._channels[chanid] = chan
            chan._set_window(window_size)
        return chan

    def renegotiate(self, chanid, window_size):
        self._channels[chanid]._set_window(window_size)
