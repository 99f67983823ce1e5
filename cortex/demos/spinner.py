"""The spinner race: upstream's fallback spinner, kept runnable as the unsafe twin.

The unsafe twin, :class:`UnsafeSpinner`, has the shape the audit found in upstream's
``FallbackProgress`` and the traps that shape invites:

* ``start()`` always starts a new animation thread, so calling it twice (or from two
  threads) leaves two threads drawing;
* every thread takes its frames from one shared ``itertools.cycle`` (an iterator shared
  between threads: unsafe without the GIL);
* the visible line is kept in two fields, the text and its width, stored one after the other
  by ``update()``: the animation thread can draw the new text with the old width (a torn
  message that nobody ever set);
* ``stop()`` joins only the thread it started last and ``fail()`` joins none, so a thread
  outlives the spinner and, after a restart, keeps drawing beside the new one.

Upstream's ``FallbackProgress`` is ``cortex/progress_indicators.py``, lines 114-175:
``start()`` (lines 125-131) starts a thread on every call and remembers only the last.

:func:`check_spinner` runs the same life-cycle checks on any spinner (the fix or the twin)
with real threads and returns what it saw; the thread counts fail on the twin on every run,
with no help. The torn message (the two stores of ``update()``) needs a thread switch
between two bytecodes: :func:`torn_message_model` lets :mod:`cortex.demos.interleavings`
choose it. Nothing in the twins sleeps to widen a window (the animation's own
``interval`` is upstream's ``time.sleep(0.1)`` between frames).

Trackers: :class:`UnsafeDownloadTracker` is upstream's ``DownloadTracker.update``
(``cortex/progress_indicators.py``, line 529: ``self.downloaded += bytes_received``);
:class:`UnsafeStepCounter` is the same unlocked ``+= 1`` on a step count.
:func:`tracker_model` shows their lost updates.
"""

from __future__ import annotations

import functools
import io
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO, TypeVar

from cortex.demos.harness import run_together
from cortex.demos.interleavings import (
    STRESS_OPERATIONS,
    STRESS_THREADS,
    lockstep,
    start_together,
)

__all__ = [
    "FRAMES",
    "PipeCapture",
    "SpinnerLike",
    "SpinnerOutcome",
    "TerminalCapture",
    "UnsafeDownloadTracker",
    "UnsafeSpinner",
    "UnsafeStepCounter",
    "animation_threads",
    "check_spinner",
    "hammer_counter",
    "rendered_messages",
    "torn_message_model",
    "torn_message_stress_model",
    "tracker_model",
    "tracker_stress_model",
]

T = TypeVar("T")

FRAMES = ("⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏")
"""Braille spinner frames (the same set upstream draws)."""


class TerminalCapture(io.StringIO):
    """A text stream that says it is a terminal and keeps everything written to it.

    Writes are serialised by a lock, so the capture itself never mixes two writes.
    """

    def __init__(self, *, tty: bool = True) -> None:
        super().__init__()
        self._tty = tty
        # Guards the buffer: several threads write at once.
        self._lock = threading.Lock()

    def write(self, s: str) -> int:
        """Append ``s``."""
        with self._lock:
            return super().write(s)

    def isatty(self) -> bool:
        """True for :class:`TerminalCapture`, False for :class:`PipeCapture`."""
        return self._tty

    def getvalue(self) -> str:
        """Everything written so far."""
        with self._lock:
            return super().getvalue()


class PipeCapture(TerminalCapture):
    """Like :class:`TerminalCapture` but not a terminal (CI logs, notebooks, pipes)."""

    def __init__(self) -> None:
        super().__init__(tty=False)


def rendered_messages(output: str) -> list[str]:
    """The messages an animation drew on a terminal: the text after each ``\\r`` + frame."""
    messages = []
    for chunk in output.split("\r")[1:]:
        drawn = chunk.replace("\033[K", "").split("\n", 1)[0]
        frame, _, message = drawn.partition(" ")
        if frame in FRAMES:
            messages.append(message)
    return messages


def animation_threads(spinner: object) -> int:
    """How many animation threads of ``spinner`` are alive (they are named after it)."""
    name = f"cortex-spinner-{id(spinner):x}"
    return sum(1 for t in threading.enumerate() if t.name == name and t.is_alive())


class SpinnerLike(Protocol):
    """What :func:`check_spinner` drives: upstream's ``FallbackProgress`` interface."""

    def start(self, message: str) -> None:
        """Show ``message`` with an animation."""

    def update(self, message: str) -> None:
        """Replace the message."""

    def stop(self, final_message: str = "") -> None:
        """End the animation with a success line."""

    def fail(self, message: str = "") -> None:
        """End the animation with a failure line."""

    @property
    def message(self) -> str:
        """The message a frame would draw now."""
        ...


class UnsafeSpinner:
    """The unsafe twin of :class:`~cortex.progress_indicators.FallbackProgress`.

    Do not use; it exists to be caught (see the module docstring for its four defects).
    """

    columns = 80
    """Terminal width the text is cut to."""

    def __init__(self, stream: TextIO, *, interval: float = 0.1) -> None:
        self._stream = stream
        self.interval = interval
        self._frames = itertools.cycle(FRAMES)  # shared by every animation thread
        self._running = False
        self._thread: threading.Thread | None = None
        self._text = ""
        self._width = 0

    @property
    def message(self) -> str:
        """The message as it would be drawn now."""
        return self._text[: self._width]

    def start(self, message: str) -> None:
        """Start a new animation thread (even if one is running)."""
        self.update(message)
        self._running = True
        thread = threading.Thread(
            target=self._animate, name=f"cortex-spinner-{id(self):x}", daemon=True
        )
        self._thread = thread  # only the last one started is remembered (and joined)
        # Start the local reference: starting self._thread could start another caller's
        # Thread object twice, which breaks threading's own bookkeeping, not the spinner.
        thread.start()

    def update(self, message: str) -> None:
        """Store the text, then its width: two stores another thread can see half of."""
        self._text = message
        self._width = min(len(message), self.columns - 2)

    def _animate(self) -> None:
        while self._running:
            frame = next(self._frames)
            self._stream.write(f"\r\033[K{frame} {self._text[: self._width]}")
            self._stream.flush()
            time.sleep(self.interval)

    def stop(self, final_message: str = "") -> None:
        """Clear the flag, join the last thread started, draw the final line."""
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self._stream.write(f"\r\033[K✓ {final_message or self.message}\n")

    def fail(self, message: str = "") -> None:
        """Clear the flag and draw the failure line (no join)."""
        self._running = False
        self._stream.write(f"\r\033[K✗ {message or self.message}\n")


@dataclass(frozen=True)
class SpinnerOutcome:
    """What :func:`check_spinner` saw."""

    threads_after_start: int
    """Animation threads alive after ``threads`` threads called ``start()`` together."""
    alive_after_fail: int
    """Animation threads still alive the moment ``fail()`` returned."""
    threads_after_restart: int
    """Animation threads alive after ``start()``, ``fail()``, ``start()``."""
    alive_after_stop: int
    """Animation threads still alive the moment the final ``stop()`` returned."""
    frames: int
    """Frames drawn while ``update()`` was hammered."""
    torn_frames: int
    """Frames whose message is none of the messages passed to ``update()``."""
    torn_examples: tuple[str, ...]
    """Up to three torn messages, for display."""

    @property
    def safe(self) -> bool:
        """One thread at a time, every thread joined, every drawn message one that was set."""
        return (
            self.threads_after_start == 1
            and self.alive_after_fail == 0
            and self.threads_after_restart == 1
            and self.alive_after_stop == 0
            and self.torn_frames == 0
        )


def _messages(threads: int) -> list[str]:
    # Distinct lengths, so that a text drawn with another message's width is visible.
    return [f"step {i} " + "." * (3 * i) for i in range(threads)]


def check_spinner(
    make: Callable[[TerminalCapture], SpinnerLike],
    *,
    threads: int = 8,
    updates: int = 40,
    pace: float = 0.00015,
    settle: float = 0.02,
) -> SpinnerOutcome:
    """Drive a spinner drawing on a fake terminal the way concurrent callers do.

    1. ``threads`` threads call ``start()`` together; count the animation threads.
    2. ``fail()``; count the threads still alive when it returns.
    3. ``start()``, ``fail()``, ``start()``; count the threads (a restart must not revive
       a thread that was never joined).
    4. ``threads`` threads each call ``update()`` ``updates`` times with their own message
       (thread ``i`` pausing ``(i + 1) * pace`` s between calls) while the animation draws;
       every drawn message must be one of them.
    5. ``stop()``; count the threads still alive when it returns.

    ``make`` builds the spinner on the stream it is given (use a short interval).
    """
    stream = TerminalCapture()
    spinner = make(stream)
    run_together(lambda i: spinner.start(f"start {i}"), threads)
    threads_after_start = animation_threads(spinner)
    spinner.fail("failed")
    alive_after_fail = animation_threads(spinner)
    spinner.start("again")
    spinner.fail("failed again")
    spinner.start("restarted")
    threads_after_restart = animation_threads(spinner)
    messages = _messages(threads)
    before = len(stream.getvalue())

    def hammer(i: int) -> None:
        for _ in range(updates):
            spinner.update(messages[i])
            time.sleep((i + 1) * pace)  # every caller at its own pace, as real ones are

    run_together(hammer, threads)
    time.sleep(settle)  # let the animation draw the last message too
    drawn = rendered_messages(stream.getvalue()[before:])
    spinner.stop("done")
    alive_after_stop = animation_threads(spinner)
    allowed = {*messages, "restarted"}
    torn = [m for m in drawn if m not in allowed]
    deadline = time.monotonic() + 2.0  # leave no thread behind, even the twin's
    while animation_threads(spinner) and time.monotonic() < deadline:
        time.sleep(0.005)
    return SpinnerOutcome(
        threads_after_start=threads_after_start,
        alive_after_fail=alive_after_fail,
        threads_after_restart=threads_after_restart,
        alive_after_stop=alive_after_stop,
        frames=len(drawn),
        torn_frames=len(torn),
        torn_examples=tuple(torn[:3]),
    )


class UnsafeDownloadTracker:
    """Upstream's download tracker: an unlocked read-modify-write, then a redraw.

    Do not use; it exists to be caught. Two download threads read the same count and the
    second store overwrites the first one's bytes.
    """

    def __init__(self, total_bytes: int, stream: TextIO | None = None) -> None:
        self.total_bytes = total_bytes
        self.downloaded = 0
        self._stream = stream or PipeCapture()

    def update(self, bytes_received: int) -> None:
        """Add ``bytes_received`` and redraw (racy)."""
        self.downloaded += bytes_received
        self._stream.write(f"\r{self.downloaded}/{self.total_bytes}")


class UnsafeStepCounter:
    """Upstream's multi-step tracker counter: ``completed += 1`` around a redraw.

    Do not use; it exists to be caught.
    """

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.completed = 0

    def complete_step(self, index: int) -> None:
        """Count step ``index`` as done (racy)."""
        self.completed += 1


def hammer_counter(
    add: Callable[[int], None], read: Callable[[], int], *, threads: int = 8, calls: int = 200
) -> tuple[int, int]:
    """``threads`` threads call ``add(i)`` ``calls`` times each; return (expected, counted).

    ``add`` adds one unit per call (bytes or steps); ``read`` returns the total afterwards.
    """

    def work(i: int) -> None:
        for _ in range(calls):
            add(i)

    run_together(work, threads)
    return threads * calls, read()


def torn_message_model(make: Callable[[TerminalCapture], SpinnerLike]) -> Callable[[], None]:
    """A model for :mod:`cortex.demos.interleavings`: one thread updates, one draws a frame.

    It asserts that the frame shows a message somebody set (the old one or the new one).
    """

    def model() -> None:
        spinner = make(TerminalCapture())
        spinner.update("start")
        drawn: list[str] = []
        start_together(
            lambda: spinner.update("resolving packages"), lambda: drawn.append(spinner.message)
        )
        assert drawn[0] in {"start", "resolving packages"}, f"drew {drawn[0]!r}, never set"

    return model


def tracker_model(
    make: Callable[[], T], add: Callable[[T], object], read: Callable[[T], int]
) -> Callable[[], None]:
    """A model: two threads each add one unit to a fresh tracker; both must be counted.

    ``make()`` builds the tracker, ``add(tracker)`` adds one unit, ``read(tracker)`` is the
    total.
    """

    def model() -> None:
        tracker = make()
        start_together(lambda: add(tracker), lambda: add(tracker))
        counted = read(tracker)
        assert counted == 2, f"2 units added, {counted} counted"

    return model


def torn_message_stress_model(
    make: Callable[[TerminalCapture], SpinnerLike],
    *,
    threads: int = STRESS_THREADS,
    operations: int = STRESS_OPERATIONS,
) -> Callable[[], None]:
    """The torn-message race at the size one forced-interleaving run needs to show it.

    Half the threads (at least one) set the two messages in turn, ``operations`` times
    each, every setter starting from a different one (so each step changes the message both
    ways); the others read the message as a frame would draw it, as often. Every operation
    starts at a :func:`~cortex.demos.interleavings.lockstep` step, so each update meets
    frames being drawn: without the step a reader could draw all its frames before a setter
    got going, and the twin sometimes held through a run. It asserts that every frame showed
    a message somebody set.
    """
    messages = ("start", "resolving packages")

    def model() -> None:
        spinner = make(TerminalCapture())
        spinner.update(messages[0])
        drawn: list[str] = []
        step = lockstep(threads)

        def set_messages(first: int) -> None:
            for k in range(first, first + operations):
                step()
                spinner.update(messages[k % 2])

        def draw() -> None:
            for _ in range(operations):
                step()
                drawn.append(spinner.message)

        setters = max(1, threads // 2)
        start_together(
            *(functools.partial(set_messages, j) for j in range(setters)),
            *(draw for _ in range(threads - setters)),
        )
        torn = [text for text in drawn if text not in messages]
        assert not torn, f"drew {torn[0]!r}, never set"

    return model


def tracker_stress_model(
    make: Callable[[], T],
    add: Callable[[T], object],
    read: Callable[[T], int],
    *,
    threads: int = STRESS_THREADS,
    operations: int = STRESS_OPERATIONS,
) -> Callable[[], None]:
    """The tracker race at the size one forced-interleaving run needs to show it.

    ``threads`` threads each add ``operations`` units to a fresh tracker; all must count.
    """

    def model() -> None:
        tracker = make()

        def work() -> None:
            for _ in range(operations):
                add(tracker)

        start_together(*(work for _ in range(threads)))
        made = threads * operations
        counted = read(tracker)
        assert counted == made, f"{made} units added, {counted} counted"

    return model
