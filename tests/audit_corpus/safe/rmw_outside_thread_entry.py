"""A server whose serve() loop runs on a thread of its own: stop() adds up the running
time, but the thread never calls stop() (it only reads the flag stop() clears), so the
total is changed on the stopping thread alone. Shape of a false positive found on a real
HTTP server."""

import threading
import time


class Server:
    def __init__(self):
        self.ready = False
        self._started = None
        self._run_time = 0.0

    @property
    def interrupted(self):
        return not self.ready

    @interrupted.setter
    def interrupted(self, value):
        self.stop()

    def serve(self):
        self.ready = True
        self._started = time.monotonic()
        while not self.interrupted:
            time.sleep(0.1)

    def run_in_thread(self):
        thread = threading.Thread(target=self.serve, daemon=True)
        thread.start()
        return thread

    def stop(self):
        if not self.ready:
            return
        self.ready = False
        if self._started is not None:
            self._run_time += time.monotonic() - self._started
        self._started = None
