"""Desktop notifications with a do-not-disturb window and a bounded history.

A drop-in for upstream Cortex's ``cortex.notification_manager`` (``NotificationManager``,
``is_dnd_active``, ``send``). What differs:

* The history is bounded in memory (a ``collections.deque``) **and** on disk
  (``~/.cortex/notification_history.json``); appends are locked read-modify-writes
  (:func:`cortex.utils.locked_file.update_json`), so notifications sent by several threads,
  managers or processes all land, and a crash leaves the old file or the new one. Threads
  sending at once share one rewrite (:class:`cortex.utils.batched_update.BatchedUpdate`),
  and a record whose write fails (the file's lock busy past ``lock_timeout``, a full disk)
  stays queued and is written with the next one.
* ``notification_config.json`` is read-modify-written the same way.
* A notification is shown with ``notify-send`` run from an argument list (never a shell;
  ``--`` ends the options, so a title starting with ``-`` is text), its control
  characters and bidi overrides shown escaped (:func:`cortex.utils.terminal.printable`).
  Without ``notify-send`` (a server, CI) it is only recorded.
* A corrupt history or configuration file is reported once in the log and left untouched;
  the manager keeps working in memory with the defaults.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Any

from cortex.utils.atomic_file import ensure_private_dir
from cortex.utils.batched_update import BatchedUpdate
from cortex.utils.file_lock import DEFAULT_TIMEOUT_S
from cortex.utils.locked_file import CorruptFileError, read_json, update_json
from cortex.utils.terminal import printable

__all__ = ["DEFAULT_CONFIG", "LEVELS", "NotificationManager", "notify_send"]

logger = logging.getLogger(__name__)

LEVELS = ("low", "normal", "critical")
"""Accepted ``level`` values (``notify-send``'s urgencies)."""

DEFAULT_CONFIG: dict[str, Any] = {
    "enabled": True,
    "dnd_start": "22:00",
    "dnd_end": "08:00",
    "critical_bypasses_dnd": True,
}
"""Settings used for every key ``notification_config.json`` does not set."""

_NOTIFY_TIMEOUT_S = 5.0


def notify_send(argv: Sequence[str]) -> bool:
    """Run ``notify-send`` with ``argv`` (its arguments); True if it was shown.

    Returns False, without raising, when the program is missing, fails or hangs.
    """
    program = shutil.which("notify-send")
    if program is None:
        return False
    try:
        completed = subprocess.run(
            [program, *argv], capture_output=True, timeout=_NOTIFY_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return completed.returncode == 0


_CONFIG_TYPES: dict[str, type] = {
    "enabled": bool,
    "dnd_start": str,
    "dnd_end": str,
    "critical_bypasses_dnd": bool,
}
"""The type each known setting of ``notification_config.json`` must have."""


def _check_file(path: Path, value: Any) -> Any:
    """``value`` (the configuration mapping or the history list) if its entries have the
    right types; raises :class:`CorruptFileError` naming ``path`` otherwise."""
    if isinstance(value, dict):
        for key, kind in _CONFIG_TYPES.items():
            if key in value and not isinstance(value[key], kind):
                found = type(value[key]).__name__
                raise CorruptFileError(path, f"{key} must be a {kind.__name__}, not a {found}")
    elif isinstance(value, list):
        for number, entry in enumerate(value):
            if not isinstance(entry, dict):
                found = type(entry).__name__
                raise CorruptFileError(path, f"entry {number} is a {found}, not an object")
    return value


def _parse_hhmm(value: Any) -> time:
    """``"22:30"`` -> :class:`datetime.time`; raises ValueError otherwise."""
    hours, _, minutes = str(value).partition(":")
    return time(int(hours), int(minutes or 0))


class NotificationManager:
    """Sends notifications, honours do-not-disturb and keeps a bounded history.

    Args:
        config_dir: the Cortex directory (default ``~/.cortex``, created ``0700``).
        history_limit: most notifications kept, in memory and on disk.
        clock: returns the local time now (tests fix it).
        notifier: shows one notification from ``notify-send`` arguments; default
            :func:`notify_send`. Tests replace it.
        lock_timeout: seconds a write of the history or configuration file waits for the
            file's lock before it is reported (the record stays queued, see :meth:`send`).

    Every argument is keyword-only and optional, so ``NotificationManager()`` behaves as
    upstream's.
    """

    CONFIG_FILE = "notification_config.json"
    HISTORY_FILE = "notification_history.json"

    def __init__(
        self,
        *,
        config_dir: str | os.PathLike[str] | None = None,
        history_limit: int = 100,
        clock: Callable[[], datetime] | None = None,
        notifier: Callable[[Sequence[str]], bool] | None = None,
        lock_timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {history_limit}")
        self.config_dir = Path(config_dir) if config_dir is not None else Path.home() / ".cortex"
        self.config_file = self.config_dir / self.CONFIG_FILE
        self.history_file = self.config_dir / self.HISTORY_FILE
        self.history_limit = history_limit
        self._clock = clock or datetime.now
        self._notifier = notifier or notify_send
        self._lock_timeout = lock_timeout
        ensure_private_dir(self.config_dir)
        # Guards history (a deque: appends are atomic, but copying it while another thread
        # appends raises) and _reported (check-then-add).
        self._lock = threading.Lock()
        self._reported: set[str] = set()
        self.config: dict[str, Any] = {**DEFAULT_CONFIG, **self._load(self.config_file, {})}
        """Settings in effect (defaults overlaid with ``notification_config.json``)."""
        loaded = self._load(self.history_file, [])
        # This process's view of the most recent notifications, at most history_limit.
        self.history: deque[dict[str, Any]] = deque(loaded, maxlen=history_limit)
        # Records reach the file in batches: under contention one rewrite serves many
        # senders, and a record whose write fails stays queued for the next one.
        self._history_writes: BatchedUpdate[dict[str, Any]] = BatchedUpdate(
            self.history_file,
            self._append_records,
            keep_last=history_limit,
            timeout=lock_timeout,
        )

    # ---- files ---------------------------------------------------------------------

    def _report_once(self, path: Path, error: Exception) -> None:
        with self._lock:
            if str(path) in self._reported:
                return
            self._reported.add(str(path))
        logger.warning("%s; notifications keep working without it", error)

    def _load(self, path: Path, default: Any) -> Any:
        """The file's value checked by :func:`_check_file`, or ``default`` (reported once)."""
        try:
            return _check_file(path, read_json(path, default=default))
        except (CorruptFileError, OSError) as exc:
            self._report_once(path, exc)
            return default

    def update_config(self, **changes: Any) -> dict[str, Any]:
        """Change settings (``enabled``, ``dnd_start``, ``dnd_end``, ``critical_bypasses_dnd``).

        A locked read-modify-write of ``notification_config.json``: changes made by other
        processes to other keys are kept.

        Raises:
            KeyError: an unknown setting.
            ValueError: a DND time that is not ``HH:MM``.
            CorruptFileError: the configuration file is malformed (it is left untouched).
        """
        unknown = sorted(set(changes) - set(DEFAULT_CONFIG))
        if unknown:
            raise KeyError(f"unknown notification setting(s): {unknown}")
        for key in ("dnd_start", "dnd_end"):
            if key in changes:
                _parse_hhmm(changes[key])

        def apply(config: dict[str, Any]) -> dict[str, Any]:
            _check_file(self.config_file, config)  # raising here leaves the file as it is
            config.update(changes)
            return config

        stored = update_json(self.config_file, apply, timeout=self._lock_timeout)
        self.config = {**DEFAULT_CONFIG, **stored}
        return dict(self.config)

    def set_dnd(self, start: str, end: str) -> None:
        """Set the do-not-disturb window, ``HH:MM`` to ``HH:MM`` (it may cross midnight)."""
        self.update_config(dnd_start=start, dnd_end=end)

    # ---- do not disturb ----------------------------------------------------------------

    def is_dnd_active(self) -> bool:
        """True when the local time now is inside the do-not-disturb window.

        The window starts at ``dnd_start`` (included) and ends at ``dnd_end`` (excluded); it
        crosses midnight when the start is later than the end, and is empty when they are
        equal. A malformed time turns DND off rather than failing.
        """
        try:
            start = _parse_hhmm(self.config["dnd_start"])
            end = _parse_hhmm(self.config["dnd_end"])
        except (KeyError, ValueError) as exc:
            self._report_once(self.config_file, ValueError(f"bad DND window: {exc}"))
            return False
        now = self._clock().time().replace(second=0, microsecond=0)
        if start == end:
            return False
        if start < end:
            return start <= now < end
        return now >= start or now < end

    # ---- sending -----------------------------------------------------------------------

    def send(
        self,
        title: str,
        message: str,
        level: str = "normal",
        actions: list[str] | None = None,
    ) -> bool:
        """Show a notification (unless disabled or in DND) and record it in the history.

        Critical notifications pass through DND when ``critical_bypasses_dnd`` is on.

        Returns:
            True if it was shown on the desktop; False if it was only recorded (disabled,
            DND, or no ``notify-send``).

        Raises:
            ValueError: ``level`` is not one of :data:`LEVELS`.
        """
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
        if not self.config.get("enabled", True):
            status = "disabled"
        elif self.is_dnd_active() and not (
            level == "critical" and self.config.get("critical_bypasses_dnd", True)
        ):
            status = "suppressed"
        else:
            # Shown with control characters and bidi overrides escaped (a model's text can
            # carry them); the history keeps the text as given.
            shown = [printable(title, newlines=False), printable(message)]
            argv = ["--urgency", level, "--app-name", "Cortex", "--", *shown]
            status = "shown" if self._notifier(argv) else "recorded"
        entry = {
            "timestamp": self._clock().isoformat(timespec="seconds"),
            "title": title,
            "message": message,
            "level": level,
            "actions": list(actions or []),
            "status": status,
        }
        self._record(entry)
        return status == "shown"

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.history.append(entry)
        try:
            self._history_writes.submit(entry)
        except (CorruptFileError, OSError) as exc:  # the entry stays queued
            self._report_once(self.history_file, exc)

    def _append_records(self, history: Any, entries: list[dict[str, Any]]) -> list[Any]:
        """The history file's new value (runs under its lock, once per batch of sends)."""
        _check_file(self.history_file, history)  # raising here leaves the file as it is
        if not isinstance(history, list):
            raise CorruptFileError(self.history_file, "the history is not a list")
        return [*history, *entries][-self.history_limit :]

    def get_history(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The most recent notifications from every process (the file), oldest first.

        Records of this process whose write failed (queued for the next one) are written
        first, or listed after the file's when that fails again. Falls back to this
        process's memory when the file is unreadable.
        """
        with contextlib.suppress(CorruptFileError, OSError):  # reported by send()
            self._history_writes.flush()
        stored = self._load(self.history_file, None)
        if isinstance(stored, list):
            history = [*stored, *self._history_writes.pending()][-self.history_limit :]
        else:
            history = self.snapshot()
        return history if limit is None else history[-limit:]

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of this process's in-memory history."""
        with self._lock:
            return list(self.history)

    def clear_history(self) -> None:
        """Forget every notification, in memory and on disk."""
        with self._lock:
            self.history.clear()
        self._history_writes.discard()
        update_json(self.history_file, lambda _old: [], default=list, timeout=self._lock_timeout)
