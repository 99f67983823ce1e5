"""Spinner thread: before (a thread per start(), unguarded state) and after (one joined thread).

Standalone: copy the ``after`` class into your module. Run it to see eight threads that call
``start()`` together leave eight animation threads before the fix and one after it, a
``fail()`` that returns with the threads still running, and a message drawn half-updated::

    python examples/spinner_before_after.py

Neither class sleeps to widen a window (the animation's pause between frames is its own). The
torn message needs a thread switch between the two stores of ``update()``, which a
free-threaded build makes by itself; here both run under forced interleaving
(:func:`cortex.testing.preempt.preemption`) so that a GIL build makes it too.
"""

from __future__ import annotations

import io
import itertools
import threading
import time

from cortex.testing.preempt import preemption

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
THREADS = 8
INTERVAL = 0.002


class Screen(io.StringIO):
    """Stands for the terminal: keeps what was drawn (one write at a time)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()  # guards the buffer

    def write(self, s: str) -> int:
        with self.lock:
            return super().write(s)


# ---- before: the pattern the audit found ---------------------------------------------
class UnsafeSpinner:
    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.frames = itertools.cycle(FRAMES)  # one iterator shared by every thread
        self.running = False
        self.text = ""
        self.width = 0

    def start(self, message: str) -> None:
        self.update(message)
        self.running = True
        threading.Thread(target=self._animate, name="spinner", daemon=True).start()

    def update(self, message: str) -> None:
        self.text = message  # two stores: the animation can see the new text...
        self.width = len(message)  # ...with the old width

    def _animate(self) -> None:
        while self.running:
            self.screen.write(f"\r{next(self.frames)} {self.text[: self.width]}")
            time.sleep(INTERVAL)

    def fail(self, message: str) -> None:
        self.running = False  # the threads notice whenever they wake up
        self.screen.write(f"\r✗ {message}\n")


# ---- after: one thread, one immutable message, always joined ----------------------------
class Spinner:
    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.message = ""  # a str: replaced with one store, never half-updated
        # Guards _thread and _stop (the life cycle); held while joining.
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None

    def start(self, message: str) -> None:
        with self._lock:
            self.message = message
            if self._thread is not None:  # already running: only the message changes
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._animate, args=(self._stop,), name="spinner", daemon=True
            )
            self._thread.start()

    def update(self, message: str) -> None:
        self.message = message

    def _animate(self, stop: threading.Event) -> None:
        index = 0  # this thread's own frame counter
        while True:
            self.screen.write(f"\r{FRAMES[index % len(FRAMES)]} {self.message}")
            index += 1
            if stop.wait(INTERVAL):
                return

    def fail(self, message: str) -> None:
        with self._lock:
            if self._stop is not None and self._thread is not None:
                self._stop.set()
                self._thread.join(timeout=1.0)
            self._thread = self._stop = None
            self.screen.write(f"\r✗ {message}\n")


def spinner_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "spinner")


def exercise(spinner: UnsafeSpinner | Spinner, screen: Screen) -> tuple[int, int, int]:
    """Return (threads after concurrent start, threads alive after fail, torn frames)."""
    barrier = threading.Barrier(THREADS)
    messages = [f"step {i} " + "." * (3 * i) for i in range(THREADS)]

    def starter(i: int) -> None:
        barrier.wait()
        spinner.start(messages[i])

    def updater(i: int) -> None:
        barrier.wait()
        for _ in range(40):
            spinner.update(messages[i])
            time.sleep((i + 1) * 0.00015)

    with preemption(probability=0.3, seed=1, targets=["__main__"]):
        for target in (starter, updater):
            workers = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            if target is starter:
                after_start = spinner_threads()
        spinner.fail("failed")
    alive_after_fail = spinner_threads()
    drawn = [chunk.split("\n")[0][2:] for chunk in screen.getvalue().split("\r")[1:]]
    torn = sum(1 for text in drawn if text not in messages and text != "failed")
    while spinner_threads():  # let the unsafe threads wind down before the next run
        time.sleep(INTERVAL)
    return after_start, alive_after_fail, torn


if __name__ == "__main__":
    screen = Screen()
    before = exercise(UnsafeSpinner(screen), screen)
    screen = Screen()
    after = exercise(Spinner(screen), screen)
    for label, (started, alive, torn) in (("before", before), ("after", after)):
        print(
            f"{label}: {started} animation threads after {THREADS} concurrent start() calls, "
            f"{alive} still alive after fail(), {torn} torn frames drawn"
        )
    raise SystemExit(0 if before[0] > 1 and before[1] > 0 and after == (1, 0, 0) else 1)
