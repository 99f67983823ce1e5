"""Log rotation across processes, and operation timings keyed by name: the unsafe twins.

Two races the audit called "already safe" in upstream's ``logging_system``:

* **Rotation across processes.** ``logging.handlers.RotatingFileHandler`` is safe
  between the threads of one process (each handler has a lock), but every *process* keeps
  its own open file and decides on its own when to rotate. When several Cortex processes
  (the CLI, a daemon, a parallel installer) log to one file, they rename each other's files
  away at the same moment: ``os.rename`` silently replaces a backup another process has just
  moved into place, a record is dropped when its rename fails, and a process keeps writing
  into a file that has been deleted. :func:`run_rotation` starts several processes on one
  log file and counts every line across the rotated files, so the loss is a number.
  ``concurrent_log_handler.ConcurrentRotatingFileHandler`` takes a lock file around every
  write and every rotation, and re-opens a file another process has rotated away.
* **Timings keyed by name.** :class:`UnsafeOperationTimer` is upstream's shape: the start
  time stored under the operation's *name*. Two overlapping operations with the same name
  (two installs on two threads) overwrite each other's start time, and the second end finds
  nothing. :class:`cortex.logging_system.CortexLogger` keys each *instance* instead.

Upstream attaches ``RotatingFileHandler`` to its log files in ``cortex/logging_system.py``
(lines 157, 171 and 181) and keys operation timings by name (lines 228-229). Both handlers
run here as they are, with no pause added: the rotation race is between processes, each
rotating on its own, so it is shown with real processes (an explorer of one interpreter's
bytecodes cannot see it). The handlers below only count records they failed to write.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from concurrent_log_handler import ConcurrentRotatingFileHandler

from cortex.demos.ledger import LEDGER, area_for

__all__ = [
    "HandlerKind",
    "ManualClock",
    "RotationOutcome",
    "UnsafeOperationTimer",
    "count_lines",
    "lines_per_second",
    "log_lines",
    "overlapping_same_name",
    "run_rotation",
]

HandlerKind = Literal["stdlib", "concurrent", "cortex"]
"""``stdlib``: ``logging.handlers.RotatingFileHandler`` (the unsafe twin);
``concurrent``: ``ConcurrentRotatingFileHandler``; ``cortex``: a full
:class:`cortex.logging_system.CortexLogger` in each process."""

LOG_NAME = "rotation.log"
"""The file every process logs to (rotated copies are ``rotation.log.1``, ``.2``, ...)."""

_LINE_ID = re.compile(r"\bp(\d+)-(\d+)\b")


class _CountingStdlibHandler(logging.handlers.RotatingFileHandler):
    """The standard handler, unchanged but for counting rollovers and lost records.

    Counts the records it failed to write instead of printing a traceback for each.
    """

    def __init__(self, filename: str, max_bytes: int, backup_count: int) -> None:
        super().__init__(filename, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        self.failed = 0
        self.rollovers = 0

    def doRollover(self) -> None:
        """Rotate and count."""
        self.rollovers += 1
        super().doRollover()

    def handleError(self, record: logging.LogRecord) -> None:
        """Count the lost record (no traceback on stderr)."""
        self.failed += 1


class _CountingConcurrentHandler(ConcurrentRotatingFileHandler):
    """``ConcurrentRotatingFileHandler``, unchanged but for counting lost records."""

    def __init__(self, filename: str, max_bytes: int, backup_count: int) -> None:
        super().__init__(filename, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        self.failed = 0

    def handleError(self, record: logging.LogRecord) -> None:
        """Count the lost record (no traceback on stderr)."""
        self.failed += 1


def log_lines(
    kind: HandlerKind,
    log_dir: str,
    index: int,
    *,
    lines: int,
    max_bytes: int,
    backup_count: int,
) -> int:
    """Write ``lines`` uniquely numbered lines from this process; return the errors counted.

    Line ``n`` of process ``index`` carries the identifier ``p<index>-<n>``, which
    :func:`count_lines` looks for.
    """
    padding = "x" * 40
    if kind == "cortex":
        from cortex.logging_system import CortexLogger  # noqa: PLC0415 - child process only

        cortex_logger = CortexLogger(
            name="rotation",
            log_dir=log_dir,
            console_level="CRITICAL",
            max_bytes=max_bytes,
            backup_count=backup_count,
        )
        try:
            for n in range(lines):
                cortex_logger.info(f"p{index:02d}-{n:05d} {padding}")
        finally:
            cortex_logger.close()
        return 0
    path = os.path.join(log_dir, LOG_NAME)
    handler: _CountingStdlibHandler | _CountingConcurrentHandler
    if kind == "stdlib":
        handler = _CountingStdlibHandler(path, max_bytes, backup_count)
    else:
        handler = _CountingConcurrentHandler(path, max_bytes, backup_count)
    handler.setFormatter(logging.Formatter("%(process)d %(message)s"))
    logger = logging.getLogger(f"cortex.demos.rotation.{kind}.{index}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        for n in range(lines):
            logger.info("p%02d-%05d %s", index, n, padding)
    finally:
        logger.removeHandler(handler)
        handler.close()
    return handler.failed


def _child(
    barrier: Any, results: Any, kind: HandlerKind, log_dir: str, index: int, **sizes: Any
) -> None:
    if kind == "cortex":
        import cortex.logging_system  # noqa: F401, PLC0415 - import before the clock starts
    barrier.wait()  # every process starts writing at the same moment
    results.put((index, log_lines(kind, log_dir, index, **sizes)))


@dataclass(frozen=True)
class RotationOutcome:
    """What several processes logging to one rotating file left on disk."""

    kind: str
    processes: int
    expected: int
    """Lines written in total (processes x lines)."""
    found: int
    """Lines found across the live file and every rotated copy."""
    unique: int
    """Distinct line identifiers found."""
    errors: int
    """Records the handlers reported as failed (each one is also lost)."""
    files: int
    """Log files on disk at the end."""
    seconds: float
    """Wall time of the writing phase (from release to the last process exiting)."""

    @property
    def lost(self) -> int:
        """Lines written but found in no file."""
        return self.expected - self.unique

    @property
    def duplicated(self) -> int:
        """Extra copies of lines found more than once."""
        return self.found - self.unique

    @property
    def lines_per_second(self) -> float:
        """Throughput of the writing phase, all processes together."""
        return self.expected / self.seconds if self.seconds > 0 else float("inf")

    @property
    def intact(self) -> bool:
        """Every line is on disk exactly once and no record failed."""
        return self.lost == 0 and self.duplicated == 0 and self.errors == 0


def count_lines(log_dir: str | os.PathLike[str], base: str = LOG_NAME) -> dict[str, int]:
    """Count each line identifier (``p<process>-<n>``) across ``base`` and its rotations."""
    seen: Counter[str] = Counter()
    for path in Path(log_dir).glob(base + "*"):
        if not (path.name == base or path.name[len(base) + 1 :].isdigit()):
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            match = _LINE_ID.search(line)
            if match:
                seen[match.group(0)] += 1
    return seen


def run_rotation(
    kind: HandlerKind,
    log_dir: str | os.PathLike[str],
    *,
    processes: int = 4,
    lines: int = 1000,
    max_bytes: int = 4096,
    backup_count: int = 200,
) -> RotationOutcome:
    """Start ``processes`` processes (spawned) that log ``lines`` lines each to one file.

    They wait on a ``multiprocessing.Barrier`` and start together. ``backup_count`` is
    larger than the number of rotations the lines need, so a correct handler keeps every
    line; any line missing was lost by the handler, not by the retention policy.
    ``log_dir`` must be empty; ``kind="cortex"`` logs through
    :class:`~cortex.logging_system.CortexLogger` and counts its text log.
    """
    directory = Path(log_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    children = [
        ctx.Process(
            target=_child,
            args=(barrier, results, kind, str(directory), index),
            kwargs={
                "lines": lines,
                "max_bytes": max_bytes,
                "backup_count": backup_count,
            },
        )
        for index in range(processes)
    ]
    for child in children:
        child.start()
    try:
        barrier.wait(timeout=60)
        started = time.perf_counter()
        errors, reported = 0, 0
        while reported < processes:
            try:
                _index, child_errors = results.get(timeout=1.0)
            except queue.Empty:
                crashed = [c.exitcode for c in children if c.exitcode not in (None, 0)]
                if crashed:
                    raise RuntimeError(f"a logging process failed: exit codes {crashed}") from None
                continue
            errors += child_errors
            reported += 1
        seconds = time.perf_counter() - started
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():  # pragma: no cover - only on a hang
                child.kill()
                child.join()
        results.close()
        results.join_thread()
    base = "rotation.log" if kind == "cortex" else LOG_NAME
    seen = count_lines(directory, base)
    files = sum(1 for p in directory.glob(base + "*") if not p.name.startswith("."))
    outcome = RotationOutcome(
        kind=kind,
        processes=processes,
        expected=processes * lines,
        found=sum(seen.values()),
        unique=len(seen),
        errors=errors,
        files=files,
        seconds=seconds,
    )
    LEDGER.add(
        area_for("logging", fixed=kind != "stdlib"),
        processes=processes,
        operations=outcome.expected,
        data_lost=outcome.lost,  # measured: lines written and found in no file
    )
    return outcome


class UnsafeOperationTimer:
    """Upstream's operation timing: start times keyed by operation *name*.

    Do not use; it exists to be caught. Two overlapping ``"install"`` operations share one
    slot: the second start overwrites the first, the first end measures from the wrong start
    and the second end finds nothing (``None``).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started: dict[str, float] = {}

    def start_operation(self, operation_name: str) -> str:
        """Remember when ``operation_name`` started (overwriting any earlier start)."""
        self._started[operation_name] = self._clock()
        return operation_name

    def end_operation(self, operation_name: str) -> float | None:
        """Seconds since ``operation_name`` started, or ``None`` if it is not running."""
        started = self._started.pop(operation_name, None)
        if started is None:
            return None
        return self._clock() - started


def lines_per_second(
    kind: HandlerKind,
    log_dir: str | os.PathLike[str],
    *,
    lines: int = 2000,
    max_bytes: int = 64 * 1024,
    backup_count: int = 60,
) -> float:
    """Lines per second one process (one thread) logs through ``kind``, rotating as it goes."""
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log_lines(
        kind,
        os.fspath(log_dir),
        0,
        lines=lines,
        max_bytes=max_bytes,
        backup_count=backup_count,
    )
    return lines / (time.perf_counter() - started)


class ManualClock:
    """A clock that only moves when told to (``clock.now = 10.0``): exact timings."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        """The current reading."""
        return self.now


def overlapping_same_name(
    start: Callable[[str], object],
    end: Callable[[str], float | None],
    clock: ManualClock,
) -> tuple[float | None, float | None]:
    """Two threads each time an ``"install"``; the second starts and ends inside the first.

    The first starts at t=0 and ends at t=30; the second runs from t=10 to t=15. Both end
    by *name*, upstream's call shape. Returns the durations reported, (first, second):
    correct is ``(30.0, 5.0)``.
    """
    first_started, second_done = threading.Event(), threading.Event()
    results: dict[str, float | None] = {}

    def first() -> None:
        start("install")
        first_started.set()
        second_done.wait(10)
        clock.now = 30.0
        results["first"] = end("install")

    def second() -> None:
        first_started.wait(10)
        clock.now = 10.0
        start("install")
        clock.now = 15.0
        results["second"] = end("install")
        second_done.set()

    clock.now = 0.0
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results.get("first"), results.get("second")
