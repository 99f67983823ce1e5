"""A logging handler's retry state, changed only from emit(): Handler.handle() holds the
handler's lock around emit() and everything it calls."""

import logging
import time


class SocketishHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.retry_period = 1.0
        self.sock = None

    def connect(self):
        try:
            self.sock = object()
        except OSError:
            self.retry_period = self.retry_period * 2

    def send(self, data):
        if self.sock is None:
            self.connect()

    def emit(self, record):
        self.send(self.format(record))
        time.sleep(0)
