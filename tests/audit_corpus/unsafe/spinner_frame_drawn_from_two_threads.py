# expect: shared-rmw
# expect: shared-rmw
"""The same spinner, but status() draws a frame from the caller's thread while the
spinner thread is drawing: two threads advance the frame counter, and an update is lost
(or the index steps past the end between += and %=)."""

import sys
import threading


class Spinner:
    frames = "|/-"

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self._frame_index = 0
        self._stop = threading.Event()
        self._thread = None

    def clear(self):
        self.stream.write("\r")

    def render(self):
        while not self._stop.wait(0.1):
            self.render_frame()

    def render_frame(self):
        self.clear()
        self.stream.write(self.frame())

    def frame(self):
        frame = self.frames[self._frame_index]
        self._frame_index += 1
        self._frame_index %= len(self.frames)
        return frame

    def __enter__(self):
        self.render_frame()
        self._thread = threading.Thread(target=self.render, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._frame_index = 0
        self.clear()

    def status(self):
        return self.frame()

    def finish(self, name):
        self.clear()
        self.stream.write(f"{name}: done\n")
