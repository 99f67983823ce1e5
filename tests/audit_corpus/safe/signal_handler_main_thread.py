"""A SIGINT handler installed once, on the main thread only: no second thread gets in."""

import signal
import threading

_previous_handler = None


def _on_interrupt(signum, frame):
    if callable(_previous_handler):
        _previous_handler(signum, frame)


class Client:
    def __init__(self, handle_interrupts=True):
        global _previous_handler
        if (
            handle_interrupts
            and _previous_handler is None
            and threading.current_thread() is threading.main_thread()
        ):
            _previous_handler = signal.signal(signal.SIGINT, _on_interrupt)
        self.connected = False
