"""The installation ledger: what was installed, removed or upgraded, with rollback and export.

A drop-in for upstream Cortex's ``installation_history``: the same public names,
parameters and defaults, and the same ``installations`` table, so an existing
``history.db`` opens with every row. What changed behind the names:

* **The pool, used correctly.** Upstream moved this module to its pool and then ran the
  ``UPDATE`` and ``commit()`` on a cursor *after* the connection had gone back to the pool,
  so two threads could share one connection. Here every write is one checkout of
  :func:`cortex.utils.db_pool.get_connection_pool`, committed when it ends; the pool
  refuses any use after return.
* **Unique ids under concurrency.** Upstream derived the id from the timestamp and the
  package names, so two threads recording the same package in the same microsecond
  collided; ids here are random (the same 16 hex characters).
* **Package state and commands through interfaces.** Snapshots come from a
  :class:`~cortex.transaction_history.PackageProbe` (``dpkg-query`` by default); rollback
  runs argument lists through a :class:`~cortex.utils.commands.CommandRunner`, built
  only from validated package names and versions, never through a shell. A rollback is
  claimed in the database before anything runs, so it runs once.
* **Atomic exports.** :meth:`InstallationHistory.export_history` writes through
  :func:`cortex.utils.atomic_file.atomic_write_text`: a reader sees the old export or the
  new one.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from cortex.transaction_history import (
    DpkgProbe,
    PackageProbe,
    is_valid_package_name,
    is_valid_version,
)
from cortex.utils.atomic_file import atomic_write_text
from cortex.utils.commands import CommandRunner, SubprocessRunner
from cortex.utils.store import (
    Clock,
    SQLiteStore,
    StoreSchema,
    format_time,
    parse_time,
    to_utc,
)

__all__ = [
    "InstallationHistory",
    "InstallationRecord",
    "InstallationStatus",
    "InstallationType",
    "PackageSnapshot",
    "extract_packages",
]

log = logging.getLogger(__name__)

DEFAULT_DB_PATH = "/var/lib/cortex/history.db"
FALLBACK_DB_PATH = "~/.cortex/history.db"


class InstallationType(Enum):
    """The kind of operation recorded."""

    INSTALL = "install"
    UPGRADE = "upgrade"
    REMOVE = "remove"
    PURGE = "purge"
    ROLLBACK = "rollback"
    CONFIG = "config"


class InstallationStatus(Enum):
    """How the operation ended (or that it is still running)."""

    SUCCESS = "success"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    IN_PROGRESS = "in_progress"


@dataclass
class PackageSnapshot:
    """One package's state at one moment."""

    package_name: str
    version: str
    """The installed version, or ``"not-installed"``."""
    status: str
    """``installed`` or ``not-installed``."""
    dependencies: list[str] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)

    @property
    def installed(self) -> bool:
        """True when the package was installed."""
        return self.status == "installed"


@dataclass
class InstallationRecord:
    """One recorded operation."""

    id: str
    timestamp: str
    operation_type: InstallationType
    packages: list[str]
    status: InstallationStatus
    before_snapshot: list[PackageSnapshot]
    after_snapshot: list[PackageSnapshot]
    commands_executed: list[str]
    error_message: str | None = None
    rollback_available: bool = True
    duration_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (enums as their values)."""
        data = asdict(self)
        data["operation_type"] = self.operation_type.value
        data["status"] = self.status.value
        return data


_APT_ACTIONS = {"install", "remove", "purge", "reinstall", "upgrade"}


def extract_packages(commands: Sequence[str]) -> list[str]:
    """Package names named by ``apt``/``apt-get`` or ``dpkg -i`` in shell-like commands.

    Used when :meth:`InstallationHistory.record_installation` gets no package list. Only
    valid Debian package names are returned (a ``name=version`` pin gives ``name``).
    """
    found: set[str] = set()
    for command in commands:
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        segment: list[str] = []
        for word in [*words, ";"]:
            if word in (";", "&&", "||", "|"):
                found.update(_packages_in(segment))
                segment = []
            else:
                segment.append(word)
    return sorted(found)


def _packages_in(words: list[str]) -> list[str]:
    while words and (words[0] == "sudo" or "=" in words[0]):
        words = words[1:]  # sudo, and VAR=value prefixes
    if not words:
        return []
    program = os.path.basename(words[0])
    args = [w for w in words[1:] if not w.startswith("-")]
    if program in ("apt", "apt-get") and args and args[0] in _APT_ACTIONS:
        names = [a.split("=")[0] for a in args[1:]]
    elif program == "dpkg" and ("-i" in words or "--install" in words):
        names = [os.path.basename(a).split("_")[0] for a in args if a.endswith(".deb")]
    else:
        return []
    return [n for n in names if is_valid_package_name(n)]


# -- storage -------------------------------------------------------------------------------

_COLUMNS = (
    "id",
    "timestamp",
    "operation_type",
    "packages",
    "status",
    "before_snapshot",
    "after_snapshot",
    "commands_executed",
    "error_message",
    "rollback_available",
    "duration_seconds",
)

# CSV column titles: upstream's for the columns upstream exports (it wrote ID, Timestamp,
# Operation, Packages, Status, Duration, Error), title case for the columns only we export.
_CSV_HEADER: Mapping[str, str] = {
    "id": "ID",
    "timestamp": "Timestamp",
    "operation_type": "Operation",
    "packages": "Packages",
    "status": "Status",
    "before_snapshot": "Before Snapshot",
    "after_snapshot": "After Snapshot",
    "commands_executed": "Commands Executed",
    "error_message": "Error",
    "rollback_available": "Rollback Available",
    "duration_seconds": "Duration",
}
# Every statement is one literal, columns in the order of _COLUMNS (no SQL is built by
# string formatting; see tests/test_security.py).
_INSERT = (
    "INSERT INTO installations (id, timestamp, operation_type, packages, status, "
    "before_snapshot, after_snapshot, commands_executed, error_message, rollback_available, "
    "duration_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_BY_ID = (
    "SELECT id, timestamp, operation_type, packages, status, before_snapshot, "
    "after_snapshot, commands_executed, error_message, rollback_available, duration_seconds "
    "FROM installations WHERE id = ?"
)
_SELECT_HISTORY = (
    "SELECT id, timestamp, operation_type, packages, status, before_snapshot, "
    "after_snapshot, commands_executed, error_message, rollback_available, duration_seconds "
    "FROM installations WHERE (:status IS NULL OR status = :status) "
    "ORDER BY timestamp DESC, rowid DESC LIMIT :limit"
)
"""The newest ``:limit`` records (-1: all), only those with ``:status`` unless it is NULL."""
_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS installations (
    id TEXT PRIMARY KEY,
    timestamp TEXT NOT NULL,
    operation_type TEXT NOT NULL,
    packages TEXT NOT NULL,
    status TEXT NOT NULL,
    before_snapshot TEXT,
    after_snapshot TEXT,
    commands_executed TEXT,
    error_message TEXT,
    rollback_available INTEGER,
    duration_seconds REAL
)
"""
_ADD_COLUMN = {
    "id": "ALTER TABLE installations ADD COLUMN id TEXT",
    "timestamp": "ALTER TABLE installations ADD COLUMN timestamp TEXT",
    "operation_type": "ALTER TABLE installations ADD COLUMN operation_type TEXT",
    "packages": "ALTER TABLE installations ADD COLUMN packages TEXT",
    "status": "ALTER TABLE installations ADD COLUMN status TEXT",
    "before_snapshot": "ALTER TABLE installations ADD COLUMN before_snapshot TEXT",
    "after_snapshot": "ALTER TABLE installations ADD COLUMN after_snapshot TEXT",
    "commands_executed": "ALTER TABLE installations ADD COLUMN commands_executed TEXT",
    "error_message": "ALTER TABLE installations ADD COLUMN error_message TEXT",
    "rollback_available": "ALTER TABLE installations ADD COLUMN rollback_available INTEGER",
    "duration_seconds": "ALTER TABLE installations ADD COLUMN duration_seconds REAL",
}
"""Column name -> the statement adding it to an older ``installations`` table."""

_STORE_SCHEMA = StoreSchema(
    name="installation_history",
    version=1,
    create=(_CREATE_TABLE,),
    columns={"installations": _ADD_COLUMN},
    after=("CREATE INDEX IF NOT EXISTS idx_timestamp ON installations (timestamp)",),
)
"""Set up in one ``BEGIN IMMEDIATE`` transaction (:func:`cortex.utils.store.ensure_schema`)."""


def _snapshots_from_json(text: str | None) -> list[PackageSnapshot]:
    items = json.loads(text) if text else []
    return [
        PackageSnapshot(
            package_name=str(item.get("package_name", "")),
            version=str(item.get("version", "")),
            status=str(item.get("status", "")),
            dependencies=list(item.get("dependencies") or []),
            config_files=list(item.get("config_files") or []),
        )
        for item in items
    ]


def _from_row(row: Sequence[Any]) -> InstallationRecord:
    data = dict(zip(_COLUMNS, row, strict=True))
    return InstallationRecord(
        id=str(data["id"]),
        timestamp=str(data["timestamp"]),
        operation_type=InstallationType(data["operation_type"]),
        packages=list(json.loads(data["packages"]) if data["packages"] else []),
        status=InstallationStatus(data["status"]),
        before_snapshot=_snapshots_from_json(data["before_snapshot"]),
        after_snapshot=_snapshots_from_json(data["after_snapshot"]),
        commands_executed=list(
            json.loads(data["commands_executed"]) if data["commands_executed"] else []
        ),
        error_message=data["error_message"],
        rollback_available=True
        if data["rollback_available"] is None
        else bool(data["rollback_available"]),
        duration_seconds=data["duration_seconds"],
    )


class InstallationHistory(SQLiteStore):
    """The installation ledger, stored in SQLite through the connection pool.

    Times are stored in UTC (:func:`cortex.utils.store.format_time`); a naive
    ``start_time`` is taken as local time, and records written by upstream keep their
    naive local timestamps when read back.

    Args:
        db_path: the database file. The default, ``/var/lib/cortex/history.db``, becomes
            ``history.db`` in ``CORTEX_DATA_DIR`` when that is set. A file whose
            directory cannot be created or written is replaced by ``history.db`` in
            ``CORTEX_DATA_DIR`` or ``~/.cortex`` (with a logged warning).
        probe: reads package state for the snapshots; default
            :class:`~cortex.transaction_history.DpkgProbe`.
        runner: runs rollback commands; default
            :class:`~cortex.utils.commands.SubprocessRunner` (with ``sudo`` when not
            root).
        clock: "now" for durations, rollbacks and clean-ups; default UTC now.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] = DEFAULT_DB_PATH,
        probe: PackageProbe | None = None,
        runner: CommandRunner | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            db_path,
            default=DEFAULT_DB_PATH,
            schema=_STORE_SCHEMA,
            clock=clock,
            any_path_falls_back=True,  # upstream falls back from any unusable directory
        )
        self.db_path = str(self._pool_handle.db_path)
        self.probe: PackageProbe = probe if probe is not None else DpkgProbe()
        self.runner: CommandRunner = (
            runner if runner is not None else SubprocessRunner(privileged=True)
        )

    def _snapshot(self, packages: Sequence[str]) -> list[PackageSnapshot]:
        snapshots = []
        for name in packages:
            state = self.probe.state(name)
            snapshots.append(
                PackageSnapshot(
                    package_name=name,
                    version=state.version if state.installed and state.version else "not-installed",
                    status="installed" if state.installed else "not-installed",
                    dependencies=state.dependencies[:10],
                    config_files=state.config_files[:20],
                )
            )
        return snapshots

    # -- writing ----------------------------------------------------------------------

    def record_installation(
        self,
        operation_type: InstallationType,
        packages: list[str],
        commands: list[str],
        start_time: datetime,
    ) -> str:
        """Record an operation that is starting, with its packages' state before it.

        When ``packages`` is empty the names are taken from ``commands``. Returns the
        record's id.
        """
        names = list(packages) if packages else extract_packages(commands)
        if not names:
            log.warning("recording an installation with no package names")
        before = self._snapshot(names)
        install_id = secrets.token_hex(8)
        with self._pool.get_connection() as conn:
            conn.execute(
                _INSERT,
                (
                    install_id,
                    format_time(start_time),
                    operation_type.value,
                    json.dumps(names),
                    InstallationStatus.IN_PROGRESS.value,
                    json.dumps([asdict(s) for s in before]),
                    None,
                    json.dumps(list(commands)),
                    None,
                    1,
                    None,
                ),
            )
        return install_id

    def update_installation(
        self, install_id: str, status: InstallationStatus, error_message: str | None = None
    ) -> None:
        """Record how an operation ended, with its packages' state after it.

        An unknown id is logged and ignored, as upstream does.
        """
        with self._pool.get_connection() as conn:
            row = conn.execute(
                "SELECT packages, timestamp FROM installations WHERE id = ?", (install_id,)
            ).fetchone()
        if row is None:
            log.error("installation %s not found", install_id)
            return
        packages = json.loads(row[0]) if row[0] else []
        try:
            started = to_utc(parse_time(row[1]))  # upstream's rows: naive local time
            duration: float | None = (self._now() - started).total_seconds()
        except ValueError:
            duration = None
        after = self._snapshot(packages)  # dpkg-query runs outside any checkout
        with self._pool.get_connection() as conn:
            conn.execute(
                "UPDATE installations SET status = ?, after_snapshot = ?, error_message = ?,"
                " duration_seconds = ? WHERE id = ?",
                (
                    status.value,
                    json.dumps([asdict(s) for s in after]),
                    error_message,
                    duration,
                    install_id,
                ),
            )

    # -- reading ----------------------------------------------------------------------

    def _query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[InstallationRecord]:
        with self._pool.get_connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        records = []
        for row in rows:
            try:
                records.append(_from_row(row))
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("skipping unreadable installation %s: %s", row[0], exc)
        return records

    def get_history(
        self, limit: int = 50, status_filter: InstallationStatus | None = None
    ) -> list[InstallationRecord]:
        """The newest ``limit`` records (``limit <= 0``: all), optionally of one status."""
        status = None if status_filter is None else status_filter.value
        return self._query(_SELECT_HISTORY, {"status": status, "limit": limit if limit > 0 else -1})

    def get_installation(self, install_id: str) -> InstallationRecord | None:
        """The record with this id, or ``None``."""
        found = self._query(_SELECT_BY_ID, (install_id,))
        return found[0] if found else None

    # -- rollback ----------------------------------------------------------------------

    @staticmethod
    def rollback_commands(record: InstallationRecord) -> list[list[str]]:
        """The argument lists that would restore the ``before`` snapshot of ``record``.

        A package installed by the operation is removed; one it removed is installed
        again at its old version; one whose version changed is installed at the old
        version. Names and versions that are not valid are skipped.
        """
        after = {s.package_name: s for s in record.after_snapshot}
        commands: list[list[str]] = []
        for before in record.before_snapshot:
            name = before.package_name
            now = after.get(name)
            if not is_valid_package_name(name) or now is None:
                continue
            old = before.version if is_valid_version(before.version) else None
            if not before.installed and now.installed:
                commands.append(["apt-get", "remove", "-y", name])
            elif before.installed and old and (not now.installed or now.version != old):
                commands.append(["apt-get", "install", "-y", "--allow-downgrades", f"{name}={old}"])
        return commands

    @staticmethod
    def _rollback_refusal(install_id: str, record: InstallationRecord | None) -> str | None:
        if record is None:
            return f"Installation {install_id} not found"
        if record.status is not InstallationStatus.SUCCESS:
            return f"Cannot roll back an installation with status {record.status.value}"
        if not record.rollback_available:
            return f"Installation {install_id} has already been rolled back"
        return None

    def rollback(self, install_id: str, dry_run: bool = False) -> tuple[bool, str]:
        """Undo a successful operation; with ``dry_run``, only say what would run.

        The record is claimed (``rollback_available`` 1 -> 0 in one ``UPDATE``) before
        anything runs, so concurrent calls run the commands once. The rollback itself is
        recorded as a ``ROLLBACK`` operation.
        """
        record = self.get_installation(install_id)
        refusal = self._rollback_refusal(install_id, record)
        if refusal is not None or record is None:
            return False, refusal or f"Installation {install_id} not found"
        commands = self.rollback_commands(record)
        if not commands:
            return False, "Nothing to roll back: the package state did not change"
        printable = [shlex.join(c) for c in commands]
        if dry_run:
            return True, "Would run:\n" + "\n".join(printable)
        with self._pool.get_connection() as conn:
            claimed = conn.execute(
                "UPDATE installations SET rollback_available = 0"
                " WHERE id = ? AND rollback_available != 0 AND status = ?",
                (install_id, InstallationStatus.SUCCESS.value),
            ).rowcount
        if claimed != 1:
            return False, f"Installation {install_id} has already been rolled back"
        started = self._now()
        rollback_id = self.record_installation(
            InstallationType.ROLLBACK, record.packages, printable, started
        )
        errors = []
        for command in commands:
            outcome = self.runner.run(command)
            if outcome.returncode != 0:
                errors.append(f"{shlex.join(command)}: {outcome.stderr.strip()}")
        if errors:
            message = "; ".join(errors)
            self.update_installation(rollback_id, InstallationStatus.FAILED, message)
            with self._pool.get_connection() as conn:  # the original may be retried
                conn.execute(
                    "UPDATE installations SET rollback_available = 1 WHERE id = ?", (install_id,)
                )
            return False, f"Rollback failed: {message}"
        self.update_installation(rollback_id, InstallationStatus.SUCCESS)
        with self._pool.get_connection() as conn:
            conn.execute(
                "UPDATE installations SET status = ? WHERE id = ?",
                (InstallationStatus.ROLLED_BACK.value, install_id),
            )
        return True, f"Rolled back {install_id} ({len(commands)} commands)"

    # -- export and cleanup ----------------------------------------------------------------

    def export_history(self, filepath: str | os.PathLike[str], format: str = "json") -> None:
        """Write every record to ``filepath`` as ``json`` or ``csv``, atomically.

        JSON holds full records (snapshots included); CSV holds one row per record with
        list fields as JSON text.

        Raises:
            ValueError: ``format`` is neither ``json`` nor ``csv``.
        """
        records = self.get_history(limit=0)
        if format == "json":
            text = json.dumps([r.to_dict() for r in records], indent=2)
        elif format == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(_CSV_HEADER[c] for c in _COLUMNS)
            for record in records:
                data = record.to_dict()
                writer.writerow(
                    json.dumps(data[c]) if isinstance(data[c], list) else data[c] for c in _COLUMNS
                )
            text = buffer.getvalue()
        else:
            raise ValueError(f"unknown export format {format!r}: use 'json' or 'csv'")
        atomic_write_text(filepath, text)

    def cleanup_old_records(self, days: int = 90) -> int:
        """Delete records older than ``days`` days; return how many were deleted."""
        cutoff = format_time(self._now() - timedelta(days=days))
        with self._pool.get_connection() as conn:
            deleted = conn.execute("DELETE FROM installations WHERE timestamp < ?", (cutoff,))
            return int(deleted.rowcount)
