"""Cortex's logs: rotating text, JSON and error files shared by every Cortex process.

A drop-in for upstream Cortex's ``cortex.logging_system`` (same public names, parameters
and defaults). Upstream's audit called it "already safe", and within one process the
``logging`` module is. Two things were not:

* **Rotation across processes.** Upstream used ``logging.handlers.RotatingFileHandler``.
  Each process keeps its own file handle and rotates on its own, so when the CLI, a daemon
  and a parallel installer log to ``~/.cortex/logs`` together they rename each other's files
  away and lines disappear (``cortex.demos.logging_rotation`` counts them). Here every file
  is written through ``concurrent_log_handler.ConcurrentRotatingFileHandler``, which holds a
  lock file around each write and each rotation and re-opens a file that another process has
  rotated away, so every line lands exactly once. Every process must use the same
  ``max_bytes`` and ``backup_count`` for a given directory.
* **Timings keyed by name.** Upstream stored an operation's start time under its name, so
  two overlapping ``"install"`` operations overwrote each other.
  :meth:`CortexLogger.start_operation` returns an ID per *instance*; see
  :meth:`CortexLogger.end_operation` for how a bare name is resolved.

Files, for ``name="cortex"`` in ``log_dir``: ``cortex.log`` (human-readable, ``file_level``
and up), ``cortex.json.log`` (one JSON object per line, ``file_level`` and up; what
:meth:`CortexLogger.search_logs` and :meth:`CortexLogger.export_logs` read) and
``cortex.error.log`` (``ERROR`` and up), each rotated at ``max_bytes`` into ``.1`` ...
``.<backup_count>``. The lock files (``.__cortex.lock`` ...) sit beside them.

Several :class:`CortexLogger` objects with the same ``name`` share one set of handlers (one
line per record, never two); call :meth:`CortexLogger.close` (or use it as a context
manager) to release the files.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import platform
import re
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal

from concurrent_log_handler import ConcurrentRotatingFileHandler

from cortex.runtime import runtime_facts
from cortex.utils.atomic_file import atomic_write_text, ensure_private_dir

__all__ = [
    "ColoredConsoleFormatter",
    "CortexLogger",
    "LogContext",
    "LogEntry",
    "StructuredFormatter",
]

TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(process)d:%(threadName)s] %(message)s"
"""Layout of the human-readable log (``<name>.log``)."""


@dataclass
class LogEntry:
    """One record of the JSON log, as :meth:`CortexLogger.search_logs` returns it."""

    timestamp: str
    """ISO 8601 with the UTC offset, e.g. ``2026-01-05T10:00:00.123456+00:00``."""
    level: str
    """``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or ``CRITICAL``."""
    logger: str
    """Name of the ``logging.Logger`` that emitted it."""
    message: str
    context: dict[str, Any] | None = None
    """The ``context`` mapping passed to the logging call."""
    exception: str | None = None
    """The formatted traceback, when the call logged one."""

    def to_dict(self) -> dict[str, Any]:
        """The entry as a JSON-ready mapping."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogEntry:
        """Build an entry from one parsed JSON log line (unknown keys are ignored)."""
        context = data.get("context")
        return cls(
            timestamp=str(data.get("timestamp", "")),
            level=str(data.get("level", "")),
            logger=str(data.get("logger", "")),
            message=str(data.get("message", "")),
            context=dict(context) if isinstance(context, Mapping) else None,
            exception=data.get("exception"),
        )


def _record_context(record: logging.LogRecord) -> dict[str, Any]:
    context = getattr(record, "context", None)
    return dict(context) if isinstance(context, Mapping) else {}


class StructuredFormatter(logging.Formatter):
    """Formats a record as one line of JSON (the ``<name>.json.log`` file).

    Keys: ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``context``,
    ``exception`` (formatted traceback or ``null``), ``process``, ``thread``, ``module``,
    ``function``, ``line``. Values that JSON cannot hold are written with ``str()``.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single JSON line (no newline)."""
        exception = None
        if record.exc_info:
            exception = self.formatException(record.exc_info)
        elif record.exc_text:
            exception = record.exc_text
        document = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "context": _record_context(record),
            "exception": exception,
            "process": record.process,
            "thread": record.threadName,
            "module": record.module,
            "function": record.funcName,
            "line": record.lineno,
        }
        return json.dumps(document, default=str, ensure_ascii=False)


class ColoredConsoleFormatter(logging.Formatter):
    """Formats a record for the terminal, with the level in colour when colour is wanted.

    Args:
        fmt: a ``logging`` format string; default ``"%(levelname)s %(message)s"``
            (the ``context`` mapping, if any, is appended as JSON).
        use_color: ``None`` (default) colours only when standard error is a terminal and
            ``NO_COLOR`` is unset.
    """

    COLORS: ClassVar[dict[str, str]] = {
        "DEBUG": "\033[36m",
        "INFO": "\033[32m",
        "WARNING": "\033[33m",
        "ERROR": "\033[31m",
        "CRITICAL": "\033[1;41m",
    }
    """ANSI colour per level name."""
    RESET = "\033[0m"

    def __init__(self, fmt: str | None = None, use_color: bool | None = None) -> None:
        super().__init__(fmt or "%(levelname)s %(message)s")
        if use_color is None:
            use_color = "NO_COLOR" not in os.environ and sys.stderr.isatty()
        self.use_color = use_color

    def format(self, record: logging.LogRecord) -> str:
        """Return the formatted record; the level name is coloured if ``use_color``."""
        text = super().format(record)
        context = _record_context(record)
        if context:
            text = f"{text} {json.dumps(context, default=str, ensure_ascii=False)}"
        if self.use_color and record.levelname in self.COLORS:
            colored = f"{self.COLORS[record.levelname]}{record.levelname}{self.RESET}"
            text = text.replace(record.levelname, colored, 1)
        return text


class _TextFormatter(logging.Formatter):
    """The human-readable file format, with the context appended as JSON."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = _record_context(record)
        if context:
            text = f"{text} | {json.dumps(context, default=str, ensure_ascii=False)}"
        return text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record.

    A plain ``StreamHandler`` keeps the stream it was created with; a test runner or a
    notebook that swaps ``sys.stderr`` would leave it writing into a closed object.
    """

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # handle() holds self.lock around emit()
        super().emit(record)


def _level(value: str | int) -> int:
    if isinstance(value, int):
        return value
    level = logging.getLevelName(value.upper())
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {value!r}")
    return level


@dataclass
class _Installed:
    """The handlers attached to one logger name, and how many CortexLoggers use them."""

    key: tuple[Any, ...]
    handlers: list[logging.Handler]
    users: int


# Handlers attached per logger name, so that a second CortexLogger with the same name reuses
# them instead of adding duplicates.
_installed: dict[str, _Installed] = {}
# Guards _installed and the handler lists of the loggers it names (attach, detach, close).
_installed_lock = threading.Lock()


@dataclass(frozen=True)
class _Operation:
    op_id: str
    name: str
    thread_id: int
    started: float


class CortexLogger:
    """Structured logging to the console and to rotating files that several processes share.

    Args:
        name: the ``logging.Logger`` name, also the file name stem.
        log_dir: directory of the log files (``~`` is expanded; created 0700 if missing).
        console_level: lowest level written to standard error.
        file_level: lowest level written to the text and JSON files.
        max_bytes: size at which a file is rotated.
        backup_count: rotated copies kept per file.

    Thread safety: every method may be called from any thread, and several processes may
    log to the same ``log_dir`` at once (with the same ``max_bytes`` and ``backup_count``).
    """

    def __init__(  # noqa: PLR0917 - upstream's positional signature
        self,
        name: str = "cortex",
        log_dir: str | os.PathLike[str] = "~/.cortex/logs",
        console_level: str | int = "INFO",
        file_level: str | int = "DEBUG",
        max_bytes: int = 10 * 1024 * 1024,
        backup_count: int = 5,
    ) -> None:
        self.name = name
        self.log_dir = Path(os.path.expanduser(os.fspath(log_dir))).resolve()
        self.console_level = _level(console_level)
        self.file_level = _level(file_level)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.text_log = self.log_dir / f"{name}.log"
        """The human-readable log file."""
        self.json_log = self.log_dir / f"{name}.json.log"
        """The JSON-lines log file that search and export read."""
        self.error_log = self.log_dir / f"{name}.error.log"
        """The log file of errors and critical records only."""
        self.logger = logging.getLogger(name)
        """The underlying ``logging.Logger`` (shared by every CortexLogger of ``name``)."""
        self._clock = time.perf_counter
        # Guards _operations, _open_by_thread and _next_op: one operation table per logger.
        self._ops_lock = threading.Lock()
        self._operations: dict[str, _Operation] = {}
        self._open_by_thread: dict[tuple[int, str], list[str]] = {}
        self._next_op = 0
        self._closed = False
        self._attach()

    # -- handlers -------------------------------------------------------------------------

    def _key(self) -> tuple[Any, ...]:
        return (
            str(self.log_dir),
            self.console_level,
            self.file_level,
            self.max_bytes,
            self.backup_count,
        )

    def _make_handlers(self) -> list[logging.Handler]:
        ensure_private_dir(self.log_dir)
        console = _StderrHandler(sys.stderr)
        console.setLevel(self.console_level)
        console.setFormatter(ColoredConsoleFormatter())
        handlers: list[logging.Handler] = [console]
        for path, level, formatter in (
            (self.text_log, self.file_level, _TextFormatter(TEXT_FORMAT)),
            (self.json_log, self.file_level, StructuredFormatter()),
            (self.error_log, logging.ERROR, _TextFormatter(TEXT_FORMAT)),
        ):
            handler = ConcurrentRotatingFileHandler(
                str(path),
                maxBytes=self.max_bytes,
                backupCount=self.backup_count,
                encoding="utf-8",
                chmod=0o600,
            )
            handler.setLevel(level)
            handler.setFormatter(formatter)
            handlers.append(handler)
        return handlers

    def _attach(self) -> None:
        key = self._key()
        with _installed_lock:
            installed = _installed.get(self.name)
            if installed is not None and installed.key == key:
                installed.users += 1
                return
            if installed is not None:  # same name, new settings: the newest settings win
                _detach(self.logger, installed)
            handlers = self._make_handlers()
            for handler in handlers:
                self.logger.addHandler(handler)
            self.logger.setLevel(min(self.console_level, self.file_level, logging.ERROR))
            self.logger.propagate = False
            _installed[self.name] = _Installed(key=key, handlers=handlers, users=1)

    def close(self) -> None:
        """Release this logger's share of the handlers; the last user closes the files.

        Idempotent. Logging after ``close()`` still works while another CortexLogger of the
        same name is open; otherwise records go nowhere.
        """
        with _installed_lock:
            if self._closed:
                return
            self._closed = True
            installed = _installed.get(self.name)
            if installed is None or installed.key != self._key():
                return  # replaced by a logger with other settings, which owns the handlers
            installed.users -= 1
            if installed.users == 0:
                _detach(self.logger, installed)
                del _installed[self.name]

    def __enter__(self) -> CortexLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- logging calls --------------------------------------------------------------------

    def _log(
        self,
        level: int,
        message: str,
        context: Mapping[str, Any] | None,
        exc_info: bool = False,
    ) -> None:
        self.logger.log(
            level,
            message,
            exc_info=exc_info,
            extra={"context": dict(context) if context else {}},
            stacklevel=3,
        )

    def debug(self, message: str, context: Mapping[str, Any] | None = None) -> None:
        """Log ``message`` at DEBUG with an optional ``context`` mapping (kept in the JSON)."""
        self._log(logging.DEBUG, message, context)

    def info(self, message: str, context: Mapping[str, Any] | None = None) -> None:
        """Log ``message`` at INFO."""
        self._log(logging.INFO, message, context)

    def warning(self, message: str, context: Mapping[str, Any] | None = None) -> None:
        """Log ``message`` at WARNING."""
        self._log(logging.WARNING, message, context)

    def error(
        self, message: str, context: Mapping[str, Any] | None = None, exc_info: bool = False
    ) -> None:
        """Log ``message`` at ERROR; ``exc_info=True`` adds the current exception."""
        self._log(logging.ERROR, message, context, exc_info)

    def critical(
        self, message: str, context: Mapping[str, Any] | None = None, exc_info: bool = False
    ) -> None:
        """Log ``message`` at CRITICAL; ``exc_info=True`` adds the current exception."""
        self._log(logging.CRITICAL, message, context, exc_info)

    # -- operation timing -----------------------------------------------------------------

    def start_operation(self, operation_name: str) -> str:
        """Start timing one instance of ``operation_name``; return its operation ID.

        The ID (``"<name>#<n>"``, unique within this logger) ends exactly this instance
        when passed to :meth:`end_operation`, whichever thread ends it.
        """
        thread_id = threading.get_ident()
        with self._ops_lock:
            self._next_op += 1
            op_id = f"{operation_name}#{self._next_op}"
            self._operations[op_id] = _Operation(op_id, operation_name, thread_id, self._clock())
            self._open_by_thread.setdefault((thread_id, operation_name), []).append(op_id)
        self._log(
            logging.DEBUG,
            f"Started {operation_name}",
            {"operation": operation_name, "operation_id": op_id},
        )
        return op_id

    def end_operation(self, operation_name: str, log_level: str | int = "INFO") -> float | None:
        """End an operation, log its duration at ``log_level`` and return it in seconds.

        ``operation_name`` is resolved in this order:

        1. an operation ID returned by :meth:`start_operation` ends that instance;
        2. otherwise a name ends the **most recent** still-running operation of that name
           **started by the calling thread** (upstream's call shape; nested operations of
           one name end innermost first, and other threads' operations are never touched).

        Returns ``None`` (and logs a warning) when nothing matches.
        """
        thread_id = threading.get_ident()
        with self._ops_lock:
            operation = self._operations.pop(operation_name, None)
            if operation is None:
                stack = self._open_by_thread.get((thread_id, operation_name))
                if stack:
                    operation = self._operations.pop(stack[-1])
            if operation is not None:
                key = (operation.thread_id, operation.name)
                stack = self._open_by_thread[key]
                stack.remove(operation.op_id)
                if not stack:
                    del self._open_by_thread[key]
            ended = self._clock()
        if operation is None:
            self._log(
                logging.WARNING,
                f"end_operation({operation_name!r}): no such operation is running",
                {"operation": operation_name},
            )
            return None
        duration = ended - operation.started
        self._log(
            _level(log_level),
            f"Completed {operation.name} in {duration:.3f}s",
            {
                "operation": operation.name,
                "operation_id": operation.op_id,
                "duration_seconds": round(duration, 6),
            },
        )
        return duration

    def running_operations(self) -> list[str]:
        """IDs of the operations started and not yet ended, oldest first."""
        with self._ops_lock:
            return list(self._operations)

    # -- helpers --------------------------------------------------------------------------

    def log_function_call(
        self,
        func_name: str,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Log a call of ``func_name`` at DEBUG, with ``repr`` of its arguments as context."""
        self._log(
            logging.DEBUG,
            f"Calling {func_name}",
            {
                "function": func_name,
                "args": [repr(a) for a in args or ()],
                "kwargs": {k: repr(v) for k, v in (kwargs or {}).items()},
            },
        )

    def log_system_info(self) -> None:
        """Log the platform, the interpreter (free-threaded or not, GIL state) and the host."""
        facts = runtime_facts()
        self._log(
            logging.INFO,
            "System information",
            {
                "platform": platform.platform(),
                "hostname": platform.node(),
                "pid": os.getpid(),
                "interpreter": facts.banner(),
                **facts.as_dict(),
            },
        )

    # -- reading the logs -----------------------------------------------------------------

    def _files(self, base: Path) -> list[Path]:
        """``base`` and its rotated copies, oldest first."""
        rotated: list[tuple[int, Path]] = []
        for path in self.log_dir.glob(base.name + ".*"):
            suffix = path.name[len(base.name) + 1 :]
            if suffix.isdigit():
                rotated.append((int(suffix), path))
        files = [path for _, path in sorted(rotated, reverse=True)]
        return [*files, base]

    def _entries(self) -> Iterator[LogEntry]:
        """Every readable JSON log entry, oldest file first; malformed lines are skipped."""
        for path in self._files(self.json_log):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:  # rotated away by another process meanwhile
                continue
            for line in text.splitlines():
                try:
                    data = json.loads(line)
                except ValueError:
                    continue  # a line being written right now, or foreign content
                if isinstance(data, dict):
                    yield LogEntry.from_dict(data)

    @staticmethod
    def _since(since: datetime | str | None) -> datetime | None:
        if since is None:
            return None
        moment = datetime.fromisoformat(since) if isinstance(since, str) else since
        if moment.tzinfo is None:
            moment = moment.astimezone()  # a naive time is local time
        return moment

    def _filtered(
        self, since: datetime | str | None, level: str | None
    ) -> Iterator[tuple[datetime, LogEntry]]:
        moment = self._since(since)
        wanted = level.upper() if level else None
        for entry in self._entries():
            if wanted is not None and entry.level != wanted:
                continue
            try:
                stamp = datetime.fromisoformat(entry.timestamp)
            except ValueError:
                continue
            if moment is not None and stamp < moment:
                continue
            yield stamp, entry

    def search_logs(
        self,
        pattern: str,
        level: str | None = None,
        since: datetime | str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Entries of the JSON log (rotated copies included) whose message matches.

        Args:
            pattern: a regular expression searched, case-insensitively, in the message and
                (separately) in the JSON of the context; an invalid expression is taken
                literally.
            level: only entries of exactly this level (``"ERROR"``...).
            since: only entries at or after this time (a naive time is local time).
            limit: at most this many entries: the newest matches, returned oldest first.

        Returns:
            Each match as a :class:`LogEntry` mapping.
        """
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error:
            regex = re.compile(re.escape(pattern), re.IGNORECASE)
        matches: list[dict[str, Any]] = []
        for _stamp, entry in self._filtered(since, level):
            context = json.dumps(entry.context, default=str, ensure_ascii=False)
            if regex.search(entry.message) or (entry.context and regex.search(context)):
                matches.append(entry.to_dict())
        return matches[-limit:] if limit > 0 else []

    def export_logs(
        self,
        output_path: str | os.PathLike[str],
        format: Literal["json", "csv", "text"] = "json",
        since: datetime | str | None = None,
        level: str | None = None,
    ) -> str:
        """Write the JSON log's entries (rotated copies included) to ``output_path``.

        Args:
            output_path: the file to write; replaced atomically (mode 0600).
            format: ``"json"`` (a list of :class:`LogEntry` mappings), ``"csv"`` or
                ``"text"`` (one line per entry).
            since: only entries at or after this time.
            level: only entries of exactly this level.

        Returns:
            The path written, as a string.

        Raises:
            ValueError: an unknown ``format``.
        """
        entries = [entry for _stamp, entry in self._filtered(since, level)]
        if format == "json":
            text = json.dumps([e.to_dict() for e in entries], indent=2, default=str) + "\n"
        elif format == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["timestamp", "level", "logger", "message", "context", "exception"])
            for e in entries:
                context = json.dumps(e.context or {}, default=str, ensure_ascii=False)
                writer.writerow(
                    [e.timestamp, e.level, e.logger, e.message, context, e.exception or ""]
                )
            text = buffer.getvalue()
        elif format == "text":
            text = "".join(f"{e.timestamp} {e.level:<8} {e.logger} {e.message}\n" for e in entries)
        else:
            raise ValueError(f"unknown export format {format!r}: use json, csv or text")
        path = Path(os.path.expanduser(os.fspath(output_path)))
        atomic_write_text(path, text)
        return str(path)

    def get_log_stats(self) -> dict[str, Any]:
        """Sizes of the log files and counts of the JSON log's entries per level.

        Returns:
            ``log_dir``, ``files`` (name, ``size_bytes``, ``modified`` ISO time),
            ``total_files`` (also as upstream's ``file_count``), ``total_size_bytes``,
            ``entries_by_level`` and ``total_entries``.
        """
        files: list[dict[str, Any]] = []
        for base in (self.text_log, self.json_log, self.error_log):
            for path in self._files(base):
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc).isoformat()
                files.append({"name": path.name, "size_bytes": stat.st_size, "modified": modified})
        by_level = Counter(entry.level for entry in self._entries())
        return {
            "log_dir": str(self.log_dir),
            "files": files,
            "total_files": len(files),
            "file_count": len(files),
            "total_size_bytes": sum(f["size_bytes"] for f in files),
            "entries_by_level": dict(by_level),
            "total_entries": sum(by_level.values()),
        }

    def clear_old_logs(self, days: int = 30) -> int:
        """Delete rotated copies last modified more than ``days`` days ago.

        The live files are never deleted (other processes hold them open).

        Returns:
            How many files were deleted.
        """
        cutoff = time.time() - days * 86400
        removed = 0
        for base in (self.text_log, self.json_log, self.error_log):
            for path in self._files(base)[:-1]:  # the last one is the live file
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
        return removed

    def get_error_summary(self, hours: int = 24) -> dict[str, Any]:
        """Errors and critical records of the last ``hours`` hours, from the JSON log.

        Returns:
            ``hours``, ``total_errors``, ``by_level`` (``ERROR``/``CRITICAL`` counts),
            ``top_errors`` (up to ten ``{"message", "count"}``, most frequent first) and
            ``most_recent`` (the newest entry as a mapping, or ``None``).
        """
        since = datetime.now(timezone.utc) - timedelta(hours=hours)
        errors = [
            entry
            for _stamp, entry in self._filtered(since, None)
            if entry.level in ("ERROR", "CRITICAL")
        ]
        by_message = Counter(entry.message for entry in errors)
        return {
            "hours": hours,
            "total_errors": len(errors),
            "by_level": dict(Counter(entry.level for entry in errors)),
            "top_errors": [
                {"message": message, "count": count}
                for message, count in by_message.most_common(10)
            ],
            "most_recent": errors[-1].to_dict() if errors else None,
        }


def _detach(logger: logging.Logger, installed: _Installed) -> None:
    """Remove and close ``installed``'s handlers (caller holds ``_installed_lock``)."""
    for handler in installed.handlers:
        logger.removeHandler(handler)
        try:
            handler.close()
        except OSError:  # pragma: no cover - a file removed under us
            traceback.print_exc()


class LogContext:
    """Time a block as one operation: ``with LogContext(logger, "install"): ...``.

    Uses the operation ID, so nested or concurrent blocks of the same name never mix.
    An exception escaping the block is logged at ERROR with its traceback and re-raised.
    """

    def __init__(self, logger: CortexLogger, operation: str) -> None:
        self.logger = logger
        self.operation = operation
        self.operation_id: str | None = None
        """The ID from :meth:`CortexLogger.start_operation`, set on entry."""
        self.duration: float | None = None
        """Seconds the block took, set on exit."""

    def __enter__(self) -> LogContext:
        self.operation_id = self.logger.start_operation(self.operation)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.operation_id is not None
        if exc is not None:
            self.logger.logger.error(
                "%s failed: %s",
                self.operation,
                exc,
                exc_info=(exc_type, exc, tb),  # type: ignore[arg-type]
                extra={"context": {"operation": self.operation, "operation_id": self.operation_id}},
            )
            self.duration = self.logger.end_operation(self.operation_id, log_level="ERROR")
        else:
            self.duration = self.logger.end_operation(self.operation_id)
