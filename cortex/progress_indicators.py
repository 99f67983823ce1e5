"""Terminal progress: spinners, operations, progress bars, downloads and multi-step trackers.

A drop-in for upstream Cortex's ``cortex.progress_indicators`` (same public names,
parameters and defaults). It draws with ``rich`` when standard output is a terminal and
falls back to :class:`FallbackProgress`, a small spinner thread, elsewhere. What differs is
what happens when several threads drive one display:

* :meth:`FallbackProgress.start` never starts a second animation thread: a second call only
  changes the message. Upstream started one thread per call.
* :meth:`FallbackProgress.stop` and :meth:`FallbackProgress.fail` always end the animation
  thread and join it (with a timeout) before they draw the last line, so nothing is drawn
  after it and a restart never revives an old thread.
* The message is published as one immutable string (a single reference store); the
  animation thread reads it once per frame. Nothing is kept in two fields that a reader
  could see half-updated.
* Each animation thread owns its frame index; no iterator (``itertools.cycle``) is shared.
* When the stream is not a terminal (CI logs, notebooks, pipes) nothing is animated: one
  line is written per state change, with no carriage returns.
* :class:`DownloadTracker` and :class:`MultiStepTracker` hold a lock around every update
  (upstream's were unlocked: concurrent chunks lost bytes).

``cortex.demos.spinner`` keeps upstream's shape runnable as the unsafe twin that the tests
catch.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, TextIO

from cortex.utils.thread_utils import LazySingleton

try:  # rich is a dependency, but a stripped-down install still gets the fallback
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    RICH_AVAILABLE = True
except ImportError:  # pragma: no cover - rich is installed with cortex
    RICH_AVAILABLE = False

__all__ = [
    "OPERATION_ICONS",
    "RICH_AVAILABLE",
    "STATUS_COLORS",
    "DownloadTracker",
    "FallbackOperationHandle",
    "FallbackProgress",
    "FallbackSpinnerHandle",
    "MultiStepTracker",
    "OperationContext",
    "OperationHandle",
    "OperationStep",
    "OperationType",
    "ProgressIndicator",
    "RichOperationHandle",
    "SpinnerHandle",
    "get_progress_indicator",
    "operation",
    "progress_bar",
    "spinner",
]

FRAMES: tuple[str, ...] = ("⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏")
"""The fallback spinner's frames (a tuple: each animation thread indexes it itself)."""
SUCCESS, FAILURE, WARNING, INFO = "✓", "✗", "⚠", "ℹ"  # noqa: RUF001 - terminal glyphs


class OperationType(Enum):
    """What an operation does; picks its icon."""

    INSTALL = "install"
    REMOVE = "remove"
    UPDATE = "update"
    DOWNLOAD = "download"
    CONFIGURE = "configure"
    VERIFY = "verify"
    ANALYZE = "analyze"
    LLM_QUERY = "llm_query"
    DEPENDENCY_RESOLVE = "dependency_resolve"
    ROLLBACK = "rollback"
    GENERIC = "generic"


OPERATION_ICONS: dict[OperationType, str] = {
    OperationType.INSTALL: "📦",
    OperationType.REMOVE: "🗑",
    OperationType.UPDATE: "🔄",
    OperationType.DOWNLOAD: "⬇",
    OperationType.CONFIGURE: "⚙",
    OperationType.VERIFY: "🔍",
    OperationType.ANALYZE: "🔍",
    OperationType.LLM_QUERY: "🧠",
    OperationType.DEPENDENCY_RESOLVE: "🔗",
    OperationType.ROLLBACK: "⏪",
    OperationType.GENERIC: "▶",
}
"""Icon drawn before an operation's title."""

STATUS_COLORS: dict[str, str] = {
    "pending": "dim",
    "running": "yellow",
    "completed": "green",
    "failed": "red",
    "skipped": "dim cyan",
}
"""The rich style of a step in each status."""


@dataclass
class OperationStep:
    """One step of an operation or of a :class:`MultiStepTracker`."""

    name: str
    description: str
    status: str = "pending"
    """``pending``, ``running``, ``completed``, ``failed`` or ``skipped``."""
    progress: float = 0.0
    """From 0.0 to 1.0."""
    start_time: datetime | None = None
    end_time: datetime | None = None
    error_message: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to end (or to now while running); ``None`` before it starts."""
        if self.start_time is None:
            return None
        end = self.end_time or datetime.now()
        return (end - self.start_time).total_seconds()


@dataclass
class OperationContext:
    """The state of one operation: its title, steps and outcome."""

    operation_type: OperationType
    title: str
    steps: list[OperationStep] = field(default_factory=list)
    current_step: int = 0
    start_time: datetime = field(default_factory=datetime.now)
    end_time: datetime | None = None
    status: str = "running"
    """``running``, ``completed`` or ``failed``."""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def total_steps(self) -> int:
        """Number of steps."""
        return len(self.steps)

    @property
    def completed_steps(self) -> int:
        """Steps completed or skipped."""
        return sum(1 for s in self.steps if s.status in ("completed", "skipped"))

    @property
    def overall_progress(self) -> float:
        """Fraction done, from 0.0 to 1.0 (1.0 once completed when there are no steps)."""
        if not self.steps:
            return 1.0 if self.status == "completed" else 0.0
        return self.completed_steps / self.total_steps


def _out(stream: TextIO | None) -> TextIO:
    """The stream to write to now (``sys.stdout`` is looked up at each use)."""
    return stream if stream is not None else sys.stdout


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


class FallbackProgress:
    """A spinner drawn by one background thread; a line per state change off a terminal.

    Safe to drive from many threads: :meth:`start` twice never starts a second thread,
    :meth:`stop` and :meth:`fail` always end and join the thread, and :meth:`update` never
    tears the message.

    Args:
        stream: where to draw; ``None`` (default) is ``sys.stdout`` at each use.
        animate: draw an animation; ``None`` (default) animates only on a terminal.
        interval: seconds between frames.
        join_timeout: longest wait for the animation thread in :meth:`stop`/:meth:`fail`.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        animate: bool | None = None,
        interval: float = 0.1,
        join_timeout: float = 1.0,
    ) -> None:
        self._stream = stream
        self._animate_setting = animate
        self.interval = interval
        self.join_timeout = join_timeout
        # Guards the life cycle (_running, _thread, _stop_event) and the order of the lines
        # written off a terminal. Held by start/stop/fail (join included) and by update() when
        # it writes a line; never taken by the animation thread, so joining under it is safe.
        self._lock = threading.Lock()
        self._running = False
        self._thread: threading.Thread | None = None
        self._stop_event: threading.Event | None = None
        # The message: an immutable str published by one reference store (a snapshot).
        self._message = ""

    @property
    def message(self) -> str:
        """The message being shown."""
        return self._message

    @property
    def is_running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`/:meth:`fail`."""
        return self._running

    def _animated(self, stream: TextIO) -> bool:
        if self._animate_setting is not None:
            return self._animate_setting
        return _is_terminal(stream)

    def start(self, message: str) -> None:
        """Show ``message``; start the animation unless it is already running.

        A second call while running only changes the message (no second thread).
        """
        with self._lock:
            changed = message != self._message
            self._message = message
            if self._running:
                if changed and self._thread is None:
                    self._line(f"{message}...")
                return
            self._running = True
            stream = _out(self._stream)
            if not self._animated(stream):
                self._line(f"{message}...")
                return
            stop_event = threading.Event()
            thread = threading.Thread(
                target=self._animate,
                args=(stream, stop_event),
                name=f"cortex-spinner-{id(self):x}",
                daemon=True,
            )
            self._stop_event = stop_event
            self._thread = thread
            thread.start()

    def update(self, message: str) -> None:
        """Replace the message. Off a terminal, a changed message writes one line."""
        if self._thread is not None or not self._running:
            self._message = message  # one reference store: the animation sees old or new
            return
        with self._lock:
            if message != self._message:
                self._message = message
                if self._running and self._thread is None:
                    self._line(f"{message}...")

    def _animate(self, stream: TextIO, stop_event: threading.Event) -> None:
        index = 0  # this thread's own frame counter: no shared iterator
        while True:
            message = self._message  # read the snapshot once per frame
            stream.write(f"\r\033[K{FRAMES[index % len(FRAMES)]} {message}")
            stream.flush()
            index += 1
            if stop_event.wait(self.interval):
                return

    def _line(self, text: str) -> None:
        stream = _out(self._stream)
        stream.write(text + "\n")
        stream.flush()

    def _finish(self, icon: str, text: str) -> None:
        with self._lock:
            if not self._running and not text:
                return
            thread, stop_event = self._thread, self._stop_event
            self._running = False
            self._thread = self._stop_event = None
            if stop_event is not None:
                stop_event.set()
            if thread is not None:
                thread.join(self.join_timeout)
            prefix = "\r\033[K" if thread is not None else ""
            _out(self._stream).write(f"{prefix}{icon} {text or self._message}\n")
            _out(self._stream).flush()

    def stop(self, final_message: str = "") -> None:
        """End the animation, join its thread, and write a success line.

        The line shows ``final_message``, or the current message if it is empty.
        """
        self._finish(SUCCESS, final_message)

    def fail(self, message: str = "") -> None:
        """End the animation, join its thread, and write a failure line."""
        self._finish(FAILURE, message)


class SpinnerHandle:
    """What :meth:`ProgressIndicator.spinner` yields when rich draws: updates its status."""

    def __init__(self, status: Any) -> None:
        self._status = status  # a rich.status.Status

    def update(self, message: str) -> None:
        """Replace the spinner's text."""
        self._status.update(message)


class FallbackSpinnerHandle:
    """What :meth:`ProgressIndicator.spinner` yields off a terminal."""

    def __init__(self, progress: FallbackProgress) -> None:
        self._progress = progress

    def update(self, message: str) -> None:
        """Replace the spinner's text."""
        self._progress.update(message)


class OperationHandle:
    """What the two operation handles share: the context, updated under a lock."""

    def __init__(self, indicator: ProgressIndicator, context: OperationContext) -> None:
        self.indicator = indicator
        self.context = context
        # Guards context (status, end_time, metadata) so that complete() and fail() from
        # two threads end the operation once.
        self._lock = threading.Lock()

    def _end(self, status: str) -> bool:
        with self._lock:
            if self.context.status != "running":
                return False
            self.context.status = status
            self.context.end_time = datetime.now()
            return True

    def _note(self, message: str) -> None:
        with self._lock:
            self.context.metadata["last_message"] = message


class RichOperationHandle(OperationHandle):
    """What :meth:`ProgressIndicator.operation` yields on a terminal (rich draws)."""

    def __init__(self, indicator: ProgressIndicator, context: OperationContext, icon: str) -> None:
        super().__init__(indicator, context)
        self.icon = icon
        assert indicator.console is not None  # a rich handle exists only when rich draws
        self.console = indicator.console
        self._status = self.console.status(f"{icon} {context.title}")

    def update(self, message: str) -> None:
        """Show ``message`` beside the title."""
        self._note(message)
        self._status.update(f"{self.icon} {self.context.title}: {message}")

    def log(self, message: str, style: str = "") -> None:
        """Print a line above the status."""
        self.console.print(message, style=style or None)

    def complete(self, message: str = "Done") -> None:
        """Mark the operation completed and print a success line (once)."""
        if self._end("completed"):
            self._status.stop()
            self.indicator.print_success(f"{self.context.title}: {message}")

    def fail(self, message: str = "Failed") -> None:
        """Mark the operation failed and print a failure line (once)."""
        if self._end("failed"):
            self._status.stop()
            self.indicator.print_error(f"{self.context.title}: {message}")


class FallbackOperationHandle(OperationHandle):
    """What :meth:`ProgressIndicator.operation` yields off a terminal."""

    def __init__(self, indicator: ProgressIndicator, context: OperationContext) -> None:
        super().__init__(indicator, context)
        self._progress = FallbackProgress(indicator.stream)

    def update(self, message: str) -> None:
        """Show ``message`` beside the title."""
        self._note(message)
        self._progress.update(f"{self.context.title}: {message}")

    def log(self, message: str, style: str = "") -> None:
        """Write a line (``style`` is ignored off a terminal)."""
        self.indicator._write(message)

    def complete(self, message: str = "Done") -> None:
        """Mark the operation completed and write a success line (once)."""
        if self._end("completed"):
            self._progress.stop(f"{self.context.title}: {message}")

    def fail(self, message: str = "Failed") -> None:
        """Mark the operation failed and write a failure line (once)."""
        if self._end("failed"):
            self._progress.fail(f"{self.context.title}: {message}")


class DownloadTracker:
    """Byte progress of one download; :meth:`update` may be called from many threads.

    Args:
        indicator: the :class:`ProgressIndicator` that draws it.
        total_bytes: expected size.
        description: label shown beside the bar.
    """

    def __init__(self, indicator: ProgressIndicator, total_bytes: int, description: str) -> None:
        self.indicator = indicator
        self.total_bytes = total_bytes
        self.description = description
        # Guards downloaded, status, _reported and the rich task: an update is one
        # read-modify-write of the count plus the redraw of that exact count.
        self._lock = threading.Lock()
        self.downloaded = 0
        """Bytes received so far (the sum of every :meth:`update`)."""
        self.status = "running"
        """``running``, ``completed`` or ``failed``."""
        self._reported = -1  # last tenth written off a terminal
        self._progress: Progress | None = None
        self._task: Any = None
        if indicator.use_rich:
            self._progress = Progress(
                TextColumn("[bold blue]{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=indicator.console,
            )
            self._task = self._progress.add_task(description, total=total_bytes)
            self._progress.start()
        else:
            indicator._write(f"{description}: 0/{total_bytes} bytes")
            self._reported = 0

    @property
    def fraction(self) -> float:
        """Fraction received, from 0.0 to 1.0."""
        if self.total_bytes <= 0:
            return 1.0 if self.status == "completed" else 0.0
        return min(1.0, self.downloaded / self.total_bytes)

    def update(self, bytes_received: int) -> None:
        """Add ``bytes_received`` (the size of the chunk just received) and redraw."""
        with self._lock:
            if self.status != "running":
                return
            self.downloaded += bytes_received
            if self._progress is not None:
                self._progress.update(self._task, completed=self.downloaded)
                return
            tenth = int(self.fraction * 10)
            if tenth > self._reported:
                self._reported = tenth
                self.indicator._write(
                    f"{self.description}: {self.downloaded}/{self.total_bytes} bytes "
                    f"({tenth * 10}%)"
                )

    def _end(self, status: str, line: str, ok: bool) -> None:
        with self._lock:
            if self.status != "running":
                return
            self.status = status
            if self._progress is not None:
                self._progress.stop()
        if ok:
            self.indicator.print_success(line)
        else:
            self.indicator.print_error(line)

    def complete(self) -> None:
        """Mark the download complete (once)."""
        self._end("completed", f"{self.description}: {self.downloaded} bytes", ok=True)

    def fail(self, error: str) -> None:
        """Mark the download failed with ``error`` (once)."""
        self._end("failed", f"{self.description}: {error}", ok=False)


class MultiStepTracker:
    """Steps of one operation, each started, completed, failed or skipped from any thread.

    Args:
        indicator: the :class:`ProgressIndicator` that draws it.
        steps: step names, in order.
        title: heading of the summary.
    """

    def __init__(
        self,
        indicator: ProgressIndicator,
        steps: Sequence[str | Mapping[str, str]],
        title: str,
    ) -> None:
        self.indicator = indicator
        self.title = title
        self.context = OperationContext(
            operation_type=OperationType.GENERIC,
            title=title,
            steps=[_step(s) for s in steps],
            current_step=-1,
        )
        # Guards context: a step's status, times and error change together, so that
        # counts and summaries read under it are exact.
        self._lock = threading.Lock()
        indicator._write(f"{title} ({len(steps)} steps)")

    @property
    def steps(self) -> list[OperationStep]:
        """The steps (a copy of the list; read, do not modify)."""
        with self._lock:
            return list(self.context.steps)

    @property
    def completed(self) -> int:
        """Steps completed or skipped."""
        with self._lock:
            return self.context.completed_steps

    @property
    def current_step(self) -> int:
        """Index of the step started last; ``-1`` before any (upstream's attribute)."""
        with self._lock:
            return self.context.current_step

    def _move(self, index: int, status: str, note: str = "") -> OperationStep | None:
        with self._lock:
            if not 0 <= index < len(self.context.steps):
                return None  # as upstream: an index out of range is ignored
            step = self.context.steps[index]
            now = datetime.now()
            if status == "running":
                step.start_time = now
                self.context.current_step = index
            else:
                step.start_time = step.start_time or now
                step.end_time = now
                step.progress = 1.0 if status == "completed" else step.progress
            if status == "failed":
                step.error_message = note or None
            step.status = status
            done, total = self.context.completed_steps, self.context.total_steps
            label = f"[{done}/{total}] {step.name}"
            if status == "running":
                self.indicator._write(f"  … {label}")
            elif status == "completed":
                self.indicator._write(f"  {SUCCESS} {label}")
            elif status == "failed":
                self.indicator._write(f"  {FAILURE} {label}" + (f": {note}" if note else ""))
            else:
                self.indicator._write(f"  - {label} (skipped{': ' + note if note else ''})")
            return step

    def start_step(self, index: int) -> None:
        """Mark step ``index`` running."""
        self._move(index, "running")

    def complete_step(self, index: int) -> None:
        """Mark step ``index`` completed."""
        self._move(index, "completed")

    def fail_step(self, index: int, error: str = "") -> None:
        """Mark step ``index`` failed with ``error``."""
        self._move(index, "failed", error)

    def skip_step(self, index: int, reason: str = "") -> None:
        """Mark step ``index`` skipped with ``reason``."""
        self._move(index, "skipped", reason)

    def finish(self) -> None:
        """Close the operation and write the summary line."""
        with self._lock:
            failed = sum(1 for s in self.context.steps if s.status == "failed")
            self.context.status = "failed" if failed else "completed"
            self.context.end_time = datetime.now()
            done, total = self.context.completed_steps, self.context.total_steps
        summary = f"{self.title}: {done}/{total} steps completed"
        if failed:
            self.indicator.print_error(f"{summary}, {failed} failed")
        else:
            self.indicator.print_success(summary)


def _step(spec: str | Mapping[str, str]) -> OperationStep:
    """A step from a name, or from upstream's ``{"name": ..., "description": ...}``."""
    if isinstance(spec, str):
        return OperationStep(name=spec, description=spec)
    return OperationStep(name=spec["name"], description=spec.get("description", spec["name"]))


class ProgressIndicator:
    """Progress displays for the whole program: rich on a terminal, plain lines elsewhere.

    Args:
        use_rich: draw with rich when standard output is a terminal and rich is installed.
        stream: where to draw; ``None`` (default) is ``sys.stdout`` at each use.
    """

    OPERATION_ICONS = OPERATION_ICONS
    """The module's :data:`OPERATION_ICONS` (upstream's class attribute)."""
    STATUS_COLORS = STATUS_COLORS
    """The module's :data:`STATUS_COLORS` (upstream's class attribute)."""

    def __init__(self, use_rich: bool = True, *, stream: TextIO | None = None) -> None:
        self.stream = stream
        console = Console(file=stream) if RICH_AVAILABLE and use_rich else None
        self.use_rich = bool(
            console is not None
            and console.is_terminal
            and _is_terminal(_out(stream))  # FORCE_COLOR must not animate a CI log
        )
        """True when displays are drawn by rich (a terminal); else the plain fallback."""
        # The rich console when use_rich, else None (as upstream).
        self.console: Console | None = console if self.use_rich else None
        # Guards nothing but the order of plain lines: one line is one write under it.
        self._write_lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._write_lock:
            stream = _out(self.stream)
            stream.write(text + "\n")
            stream.flush()

    @contextlib.contextmanager
    def operation(
        self,
        title: str,
        operation_type: OperationType = OperationType.GENERIC,
        steps: Sequence[str] | None = None,
    ) -> Iterator[RichOperationHandle | FallbackOperationHandle]:
        """Show a running operation; the handle updates it and ends it.

        Leaving the block ends it as completed (unless the handle already did), or as
        failed if an exception escapes (the exception propagates).
        """
        context = OperationContext(
            operation_type=operation_type,
            title=title,
            steps=[OperationStep(name=s, description=s) for s in steps or ()],
        )
        handle: RichOperationHandle | FallbackOperationHandle
        if self.use_rich:
            rich_handle = RichOperationHandle(self, context, OPERATION_ICONS[operation_type])
            rich_handle._status.start()
            handle = rich_handle
        else:
            fallback = FallbackOperationHandle(self, context)
            fallback._progress.start(f"{OPERATION_ICONS[operation_type]} {title}")
            handle = fallback
        try:
            yield handle
        except BaseException as exc:
            handle.fail(str(exc) or type(exc).__name__)
            raise
        else:
            handle.complete()

    @contextlib.contextmanager
    def spinner(self, message: str) -> Iterator[SpinnerHandle | FallbackSpinnerHandle]:
        """Show ``message`` with a spinner for the duration of the block."""
        if self.use_rich:
            assert self.console is not None
            with self.console.status(message) as status:
                yield SpinnerHandle(status)
            return
        progress = FallbackProgress(self.stream)
        progress.start(message)
        try:
            yield FallbackSpinnerHandle(progress)
        except BaseException:
            progress.fail()
            raise
        progress.stop()

    def progress_bar(
        self, items: Iterable[Any], description: str = "Processing", show_speed: bool = False
    ) -> Iterator[Any]:
        """Yield each item of ``items`` while showing how far the iteration has got.

        Off a terminal a line is written at every tenth of a sized iterable (none for an
        unsized one) and one at the end.
        """
        total = len(items) if isinstance(items, Sequence) else None
        if self.use_rich:
            columns: list[Any] = [
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
            ]
            if show_speed:
                columns.append(TextColumn("{task.speed} it/s"))
            columns.append(TimeRemainingColumn())
            with Progress(*columns, console=self.console) as progress:
                yield from progress.track(items, total=total, description=description)
            return
        reported = 0
        count = 0
        for item in items:
            yield item
            count += 1
            if total:
                tenth = count * 10 // total
                if tenth > reported and tenth < 10:
                    reported = tenth
                    self._write(f"{description}: {count}/{total} ({tenth * 10}%)")
        self._write(f"{description}: {count}/{total or count} done")

    def download_progress(
        self, total_bytes: int, description: str = "Downloading"
    ) -> DownloadTracker:
        """A :class:`DownloadTracker` drawn by this indicator."""
        return DownloadTracker(self, total_bytes, description)

    def multi_step(
        self, steps: Sequence[str], title: str = "Operation Progress"
    ) -> MultiStepTracker:
        """A :class:`MultiStepTracker` drawn by this indicator."""
        return MultiStepTracker(self, steps, title)

    def _print(self, icon: str, style: str, message: str) -> None:
        if self.use_rich:
            assert self.console is not None
            self.console.print(f"[{style}]{icon}[/{style}] {message}")
        else:
            self._write(f"{icon} {message}")

    def print_success(self, message: str) -> None:
        """Print ``✓ message``."""
        self._print(SUCCESS, "green", message)

    def print_error(self, message: str) -> None:
        """Print ``✗ message``."""
        self._print(FAILURE, "red", message)

    def print_warning(self, message: str) -> None:
        """Print ``⚠ message``."""
        self._print(WARNING, "yellow", message)

    def print_info(self, message: str) -> None:
        """Print ``ℹ message``."""  # noqa: RUF002 - the glyph printed
        self._print(INFO, "blue", message)


_indicator: LazySingleton[ProgressIndicator] = LazySingleton(
    ProgressIndicator, name="progress_indicator"
)


def get_progress_indicator() -> ProgressIndicator:
    """The process-wide :class:`ProgressIndicator` (created once, on first use)."""
    return _indicator.get()


@contextlib.contextmanager
def spinner(message: str) -> Iterator[SpinnerHandle | FallbackSpinnerHandle]:
    """``with spinner("Resolving") as status:`` on the process-wide indicator."""
    with get_progress_indicator().spinner(message) as handle:
        yield handle


@contextlib.contextmanager
def operation(
    title: str,
    operation_type: OperationType = OperationType.GENERIC,
    steps: Sequence[str] | None = None,
) -> Iterator[RichOperationHandle | FallbackOperationHandle]:
    """``with operation("Installing nginx", OperationType.INSTALL) as op:`` (process-wide)."""
    with get_progress_indicator().operation(title, operation_type, steps) as handle:
        yield handle


def progress_bar(items: Iterable[Any], description: str = "Processing") -> Iterator[Any]:
    """Iterate ``items`` with a progress display on the process-wide indicator."""
    return get_progress_indicator().progress_bar(items, description)
