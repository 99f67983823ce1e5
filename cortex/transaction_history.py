"""Package transactions with their before/after state, rollback commands and undo.

A drop-in for upstream Cortex's ``transaction_history`` (same public names, parameters,
defaults and the ``transactions`` table in ``~/.cortex/transaction_history.db``, so an
existing database opens with every row). What changed behind the names:

* **One shared history.** :func:`get_history` and :func:`get_undo_manager` are
  :class:`~cortex.utils.thread_utils.LazySingleton` instances: 100 threads calling them at
  once get one object each (upstream locked them; the audit had found two check-then-act
  races).
* **The store foundation.** :class:`TransactionHistory` is a
  :class:`~cortex.utils.store.SQLiteStore`: every read and write goes through the per-file
  pool (a write is one transaction, committed when it returns; a reader never shares a
  connection with another thread; upstream documented a pool but opened a connection per
  call), the pool is reopened after :func:`~cortex.utils.db_pool.close_all_pools` and
  released by :meth:`~cortex.utils.store.SQLiteStore.close`, the schema (and the columns an
  older table lacks) is set up once in one ``BEGIN IMMEDIATE`` transaction, and times are
  stored in UTC from an injectable clock.
* **Package state through an interface.** :class:`PackageProbe` reads a package's state;
  the default, :class:`DpkgProbe`, runs ``dpkg-query`` with an argument list (never a
  shell). Tests pass their own probe.
* **Rollback commands are argument lists.** They are computed from the state recorded
  before the change (install -> remove, remove or purge -> install that version, upgrade
  or downgrade -> install the old version), from validated package names and versions
  only; :attr:`Transaction.rollback_commands` keeps a printable copy. Undo runs them
  through a :class:`~cortex.utils.commands.CommandRunner` (tests pass a recording one),
  never through a shell.
* **Undo runs once.** :meth:`UndoManager.undo` claims the transaction in the database
  (``completed`` -> ``rolled_back`` in one ``UPDATE``) before running anything, so two
  threads or processes undoing the same transaction cannot both run its commands.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from cortex.dependency_resolver import is_valid_package_name
from cortex.utils.commands import CommandResult, CommandRunner, SubprocessRunner
from cortex.utils.store import (
    Clock,
    SQLiteStore,
    StoreSchema,
    add_missing_columns,
    format_time,
    to_utc,
)
from cortex.utils.thread_utils import LazySingleton

__all__ = [
    # CommandResult, CommandRunner and SubprocessRunner live in cortex.utils.commands and
    # stay importable from here.
    "CommandResult",
    "CommandRunner",
    "DpkgProbe",
    "PackageProbe",
    "PackageState",
    "SubprocessRunner",
    "Transaction",
    "TransactionHistory",
    "TransactionStatus",
    "TransactionType",
    "UndoManager",
    "add_missing_columns",
    "get_history",
    "get_undo_manager",
    "is_valid_package_name",
    "is_valid_version",
    "record_install",
    "record_remove",
    "rollback_argv",
    "show_history",
    "undo_last",
]

log = logging.getLogger(__name__)

DEFAULT_DB_PATH = "~/.cortex/transaction_history.db"

# Debian policy: lower-case letters, digits, "+", "-", "."; at least two characters,
# starting with a letter or digit; optionally ":arch".
# Debian versions: [epoch:]upstream[-revision] with these characters only.
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+~:\-]*$")

# Packages whose rollback may leave the system unusable.
_CRITICAL_PACKAGES = (
    "apt",
    "dpkg",
    "libc6",
    "systemd",
    "bash",
    "coreutils",
    "linux-image",
    "grub",
    "init",
)


def _is_recordable(spec: str) -> bool:
    """A Debian name, or upstream's ``name@version`` spec (``node@18``) with a valid name."""
    name, at, version = spec.partition("@")
    return is_valid_package_name(name) and (not at or is_valid_version(version))


def is_valid_version(version: str) -> bool:
    """True when ``version`` only holds characters a Debian version may hold."""
    return bool(_VERSION_RE.match(version))


class TransactionType(Enum):
    """What a transaction did to its packages."""

    INSTALL = "install"
    REMOVE = "remove"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    AUTOREMOVE = "autoremove"
    PURGE = "purge"
    CONFIGURE = "configure"
    BATCH = "batch"


class TransactionStatus(Enum):
    """Where a transaction is in its life."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    PARTIALLY_COMPLETED = "partially_completed"


@dataclass
class PackageState:
    """A package as it was at one moment."""

    name: str
    version: str | None = None
    installed: bool = False
    config_files: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PackageState:
        """The state stored by :meth:`to_dict` (unknown keys are ignored)."""
        return cls(
            name=str(data.get("name", "")),
            version=data.get("version"),
            installed=bool(data.get("installed", False)),
            config_files=list(data.get("config_files") or []),
            dependencies=list(data.get("dependencies") or []),
        )


@dataclass
class Transaction:
    """One package operation and what it needs to be undone."""

    id: str
    transaction_type: TransactionType
    packages: list[str]
    timestamp: datetime
    status: TransactionStatus = TransactionStatus.PENDING
    before_state: dict[str, PackageState] = field(default_factory=dict)
    after_state: dict[str, PackageState] = field(default_factory=dict)
    command: str = ""
    user: str = ""
    duration_seconds: float = 0.0
    error_message: str | None = None
    rollback_commands: list[str] = field(default_factory=list)
    """Printable rollback commands (each an argument list joined with ``shlex.join``)."""
    is_rollback_safe: bool = True
    rollback_warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (enums as values, the timestamp in ISO 8601)."""
        return {
            "id": self.id,
            "transaction_type": self.transaction_type.value,
            "packages": list(self.packages),
            "timestamp": self.timestamp.isoformat(),
            "status": self.status.value,
            "before_state": {k: v.to_dict() for k, v in self.before_state.items()},
            "after_state": {k: v.to_dict() for k, v in self.after_state.items()},
            "command": self.command,
            "user": self.user,
            "duration_seconds": self.duration_seconds,
            "error_message": self.error_message,
            "rollback_commands": list(self.rollback_commands),
            "is_rollback_safe": self.is_rollback_safe,
            "rollback_warning": self.rollback_warning,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transaction:
        """The transaction stored by :meth:`to_dict`."""
        return cls(
            id=str(data["id"]),
            transaction_type=TransactionType(data["transaction_type"]),
            packages=list(data.get("packages") or []),
            timestamp=datetime.fromisoformat(data["timestamp"]),
            status=TransactionStatus(data.get("status", TransactionStatus.PENDING.value)),
            before_state={
                k: PackageState.from_dict(v) for k, v in (data.get("before_state") or {}).items()
            },
            after_state={
                k: PackageState.from_dict(v) for k, v in (data.get("after_state") or {}).items()
            },
            command=data.get("command") or "",
            user=data.get("user") or "",
            duration_seconds=float(data.get("duration_seconds") or 0.0),
            error_message=data.get("error_message"),
            rollback_commands=list(data.get("rollback_commands") or []),
            is_rollback_safe=bool(data.get("is_rollback_safe", True)),
            rollback_warning=data.get("rollback_warning"),
        )


# -- reading package state ----------------------------------------------------------------


class PackageProbe(Protocol):
    """Reads the current state of one package."""

    def state(self, package: str) -> PackageState:
        """The package's state now (``installed=False`` when it is unknown)."""
        ...


# Fields separated by a unit separator, conffiles last (they span several lines).
_DPKG_FORMAT = "${Status}\x1f${Version}\x1f${Depends}\x1f${Conffiles}"


class DpkgProbe:
    """Package state from ``dpkg-query`` (one call per package, argument lists only).

    Where ``dpkg-query`` does not exist every package reads as not installed.
    """

    def __init__(self, runner: CommandRunner | None = None) -> None:
        self.runner: CommandRunner = runner if runner is not None else SubprocessRunner(30.0)

    def state(self, package: str) -> PackageState:
        """Installed or not, version, dependencies and conffiles of ``package``."""
        state = PackageState(name=package)
        if not is_valid_package_name(package) or shutil.which("dpkg-query") is None:
            return state
        result = self.runner.run(["dpkg-query", "-W", f"-f={_DPKG_FORMAT}", "--", package])
        if result.returncode != 0:
            return state
        parts = result.stdout.split("\x1f")
        if len(parts) != 4:
            return state
        status, version, depends, conffiles = parts
        state.installed = status.split()[-1:] == ["installed"]
        if state.installed:
            state.version = version.strip() or None
            state.config_files = [
                line.split()[0] for line in conffiles.splitlines() if line.strip()
            ]
        state.dependencies = [
            alt.split("(")[0].strip()
            for alt in (dep.split("|")[0] for dep in depends.split(","))
            if alt.strip()
        ]
        return state


# -- rollback -------------------------------------------------------------------------------


def rollback_argv(
    transaction_type: TransactionType, before_state: dict[str, PackageState]
) -> list[list[str]]:
    """The commands (argument lists) that undo a transaction, from the state before it.

    install -> ``apt-get remove`` of what was not installed before; remove, purge and
    autoremove -> ``apt-get install`` of the version that was installed; upgrade and
    downgrade -> ``apt-get install --allow-downgrades`` of the old version. Packages whose
    name or version is not valid are skipped (they cannot come from dpkg).
    """
    commands: list[list[str]] = []
    for name, state in before_state.items():
        if not is_valid_package_name(name):
            continue
        version = state.version if state.version and is_valid_version(state.version) else None
        pinned = f"{name}={version}" if version else name
        if transaction_type is TransactionType.INSTALL:
            if not state.installed:
                commands.append(["apt-get", "remove", "-y", name])
        elif transaction_type in (
            TransactionType.REMOVE,
            TransactionType.PURGE,
            TransactionType.AUTOREMOVE,
        ):
            if state.installed:
                commands.append(["apt-get", "install", "-y", pinned])
        elif (
            transaction_type in (TransactionType.UPGRADE, TransactionType.DOWNGRADE)
            and state.installed
            and version
        ):
            commands.append(["apt-get", "install", "-y", "--allow-downgrades", pinned])
    return commands


def _assess_rollback_safety(transaction: Transaction) -> None:
    for name in transaction.packages:
        if any(critical in name for critical in _CRITICAL_PACKAGES):
            transaction.is_rollback_safe = False
            transaction.rollback_warning = (
                f"Rolling back {name} may affect system stability. Proceed with caution."
            )
            return
    if transaction.transaction_type is TransactionType.PURGE:
        transaction.rollback_warning = (
            "Purge removed configuration files; undo cannot restore them."
        )


# -- storage -------------------------------------------------------------------------------

_COLUMNS = (
    "id",
    "transaction_type",
    "packages",
    "timestamp",
    "status",
    "before_state",
    "after_state",
    "command",
    "user",
    "duration_seconds",
    "error_message",
    "rollback_commands",
    "is_rollback_safe",
    "rollback_warning",
)
# Every statement is one literal, columns in the order of _COLUMNS (no SQL is built by
# string formatting; see tests/test_security.py).
_SELECT_BY_ID = (
    "SELECT id, transaction_type, packages, timestamp, status, before_state, after_state, "
    "command, user, duration_seconds, error_message, rollback_commands, is_rollback_safe, "
    "rollback_warning FROM transactions WHERE id = ?"
)
_SELECT_RECENT = (
    "SELECT id, transaction_type, packages, timestamp, status, before_state, after_state, "
    "command, user, duration_seconds, error_message, rollback_commands, is_rollback_safe, "
    "rollback_warning FROM transactions WHERE (:status IS NULL OR status = :status) "
    "ORDER BY timestamp DESC, rowid DESC LIMIT :limit"
)
"""The newest ``:limit`` transactions, only those with ``:status`` unless it is NULL."""
_SEARCH = (
    "SELECT id, transaction_type, packages, timestamp, status, before_state, after_state, "
    "command, user, duration_seconds, error_message, rollback_commands, is_rollback_safe, "
    "rollback_warning FROM transactions "
    "WHERE (:package_pattern IS NULL OR packages LIKE :package_pattern ESCAPE '\\') "
    "AND (:transaction_type IS NULL OR transaction_type = :transaction_type) "
    "AND (:since IS NULL OR timestamp >= :since) "
    "AND (:until IS NULL OR timestamp <= :until) "
    "ORDER BY timestamp DESC, rowid DESC LIMIT :limit"
)
"""The newest ``:limit`` transactions matching every filter that is not NULL."""
_SAVE = (
    "INSERT OR REPLACE INTO transactions (id, transaction_type, packages, timestamp, status, "
    "before_state, after_state, command, user, duration_seconds, error_message, "
    "rollback_commands, is_rollback_safe, rollback_warning) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS transactions (
    id TEXT PRIMARY KEY,
    transaction_type TEXT NOT NULL,
    packages TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    status TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT,
    command TEXT,
    user TEXT,
    duration_seconds REAL,
    error_message TEXT,
    rollback_commands TEXT,
    is_rollback_safe INTEGER,
    rollback_warning TEXT
)
"""


_ADD_COLUMN = {
    "id": "ALTER TABLE transactions ADD COLUMN id TEXT",
    "transaction_type": "ALTER TABLE transactions ADD COLUMN transaction_type TEXT",
    "packages": "ALTER TABLE transactions ADD COLUMN packages TEXT",
    "timestamp": "ALTER TABLE transactions ADD COLUMN timestamp TEXT",
    "status": "ALTER TABLE transactions ADD COLUMN status TEXT",
    "before_state": "ALTER TABLE transactions ADD COLUMN before_state TEXT",
    "after_state": "ALTER TABLE transactions ADD COLUMN after_state TEXT",
    "command": "ALTER TABLE transactions ADD COLUMN command TEXT",
    "user": "ALTER TABLE transactions ADD COLUMN user TEXT",
    "duration_seconds": "ALTER TABLE transactions ADD COLUMN duration_seconds REAL",
    "error_message": "ALTER TABLE transactions ADD COLUMN error_message TEXT",
    "rollback_commands": "ALTER TABLE transactions ADD COLUMN rollback_commands TEXT",
    "is_rollback_safe": "ALTER TABLE transactions ADD COLUMN is_rollback_safe INTEGER",
    "rollback_warning": "ALTER TABLE transactions ADD COLUMN rollback_warning TEXT",
}
"""Column name -> the statement adding it to an older ``transactions`` table."""

_STORE_SCHEMA = StoreSchema(
    name="transaction_history",
    version=1,
    create=(_CREATE_TABLE,),
    columns={"transactions": _ADD_COLUMN},
    after=(
        "CREATE INDEX IF NOT EXISTS idx_timestamp ON transactions (timestamp DESC)",
        "CREATE INDEX IF NOT EXISTS idx_status ON transactions (status)",
    ),
)
"""Set up in one ``BEGIN IMMEDIATE`` transaction (:func:`cortex.utils.store.ensure_schema`)."""


def _row_values(tx: Transaction) -> tuple[Any, ...]:
    return (
        tx.id,
        tx.transaction_type.value,
        json.dumps(tx.packages),
        format_time(tx.timestamp),
        tx.status.value,
        json.dumps({k: v.to_dict() for k, v in tx.before_state.items()}),
        json.dumps({k: v.to_dict() for k, v in tx.after_state.items()}),
        tx.command,
        tx.user,
        tx.duration_seconds,
        tx.error_message,
        json.dumps(tx.rollback_commands),
        1 if tx.is_rollback_safe else 0,
        tx.rollback_warning,
    )


def _from_row(row: Sequence[Any]) -> Transaction:
    data = dict(zip(_COLUMNS, row, strict=True))
    for key in ("packages", "before_state", "after_state", "rollback_commands"):
        data[key] = json.loads(data[key]) if data[key] else None
    if data["is_rollback_safe"] is None:
        data["is_rollback_safe"] = True
    return Transaction.from_dict(data)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TransactionHistory(SQLiteStore):
    """Every package transaction, stored in SQLite through the connection pool.

    Times are stored in UTC (:func:`cortex.utils.store.format_time`); transactions
    written by upstream keep their naive local timestamps when read back.

    Args:
        db_path: the database file; default ``~/.cortex/transaction_history.db``, or
            ``transaction_history.db`` in ``CORTEX_DATA_DIR`` when that is set (its
            directory is created with mode 0700 if missing).
        probe: reads package state; default :class:`DpkgProbe`.
        clock: "now" for timestamps and durations; default UTC now (tests inject one).
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None = None,
        probe: PackageProbe | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(db_path, default=DEFAULT_DB_PATH, schema=_STORE_SCHEMA, clock=clock)
        self.db_path: Path = self._pool_handle.db_path
        self.probe: PackageProbe = probe if probe is not None else DpkgProbe()

    # -- writing ----------------------------------------------------------------------

    def begin_transaction(
        self, transaction_type: TransactionType, packages: list[str], command: str = ""
    ) -> Transaction:
        """Record the start of an operation, with each package's state before it.

        A ``name@version`` spec (upstream accepted ``node@18``) is recorded as given; it
        is not a Debian name, so it gets no rollback command.

        Raises:
            ValueError: a package is neither a valid Debian package name nor
                ``name@version`` (such a name could never be rolled back safely).
        """
        bad = [name for name in packages if not _is_recordable(name)]
        if bad:
            raise ValueError(f"not valid package names: {', '.join(map(repr, bad))}")
        now = self._now()
        tx = Transaction(
            id=f"tx_{now.strftime('%Y%m%d%H%M%S%f')}_{secrets.token_hex(4)}",
            transaction_type=transaction_type,
            packages=list(packages),
            timestamp=now,
            status=TransactionStatus.IN_PROGRESS,
            command=command,
            user=os.environ.get("USER", "unknown"),
        )
        tx.before_state = {name: self.probe.state(name) for name in tx.packages}
        tx.rollback_commands = [
            shlex.join(argv) for argv in rollback_argv(transaction_type, tx.before_state)
        ]
        self._save(tx)
        return tx

    def complete_transaction(
        self, transaction: Transaction, success: bool = True, error_message: str | None = None
    ) -> None:
        """Record the end of an operation (and each package's state after it, on success)."""
        transaction.duration_seconds = (self._now() - to_utc(transaction.timestamp)).total_seconds()
        if success:
            transaction.status = TransactionStatus.COMPLETED
            transaction.after_state = {
                name: self.probe.state(name) for name in transaction.packages
            }
        else:
            transaction.status = TransactionStatus.FAILED
            transaction.error_message = error_message
        _assess_rollback_safety(transaction)
        self._save(transaction)

    def _save(self, tx: Transaction) -> None:
        with self._pool.get_connection() as conn:
            conn.execute(_SAVE, _row_values(tx))

    def _claim_for_undo(self, transaction_id: str) -> bool:
        """Move a completed transaction to rolled_back; False if another caller did first."""
        with self._pool.get_connection() as conn:
            cursor = conn.execute(
                "UPDATE transactions SET status = ? WHERE id = ? AND status = ?",
                (
                    TransactionStatus.ROLLED_BACK.value,
                    transaction_id,
                    TransactionStatus.COMPLETED.value,
                ),
            )
            return cursor.rowcount == 1

    def _set_status(self, transaction_id: str, status: TransactionStatus, error: str) -> None:
        with self._pool.get_connection() as conn:
            conn.execute(
                "UPDATE transactions SET status = ?, error_message = ? WHERE id = ?",
                (status.value, error, transaction_id),
            )

    # -- reading ----------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Transaction]:
        with self._pool.get_connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        transactions = []
        for row in rows:
            try:
                transactions.append(_from_row(row))
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("skipping unreadable transaction %s: %s", row[0], exc)
        return transactions

    def get_transaction(self, transaction_id: str) -> Transaction | None:
        """The transaction with this id, or ``None``."""
        found = self._query(_SELECT_BY_ID, (transaction_id,))
        return found[0] if found else None

    def get_recent(
        self, limit: int = 10, status_filter: TransactionStatus | None = None
    ) -> list[Transaction]:
        """The newest ``limit`` transactions (optionally only those with one status)."""
        status = None if status_filter is None else status_filter.value
        return self._query(_SELECT_RECENT, {"status": status, "limit": limit})

    def search(
        self,
        package: str | None = None,
        transaction_type: TransactionType | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
    ) -> list[Transaction]:
        """Transactions matching every filter given, newest first."""
        params = {
            "package_pattern": f"%{_like_escape(json.dumps(package))}%" if package else None,
            "transaction_type": None if transaction_type is None else transaction_type.value,
            "since": None if since is None else format_time(since),
            "until": None if until is None else format_time(until),
            "limit": limit,
        }
        return self._query(_SEARCH, params)

    def get_stats(self) -> dict[str, Any]:
        """Totals by type and by status (one consistent read), and the file's size."""
        with self._pool.get_connection() as conn:
            conn.execute("BEGIN")  # one snapshot for all three queries
            (total,) = conn.execute("SELECT count(*) FROM transactions").fetchone()
            types = conn.execute(
                "SELECT transaction_type, count(*) FROM transactions GROUP BY 1"
            ).fetchall()
            statuses = conn.execute(
                "SELECT status, count(*) FROM transactions GROUP BY 1"
            ).fetchall()
        by_type = {t.value: 0 for t in TransactionType}
        by_type.update({str(k): int(v) for k, v in types})
        by_status = {s.value: 0 for s in TransactionStatus}
        by_status.update({str(k): int(v) for k, v in statuses})
        try:
            size = self.db_path.stat().st_size
        except OSError:
            size = 0
        return {
            "total_transactions": int(total),
            "by_type": by_type,
            "by_status": by_status,
            "db_size_kb": size / 1024,
        }


class UndoManager:
    """Checks, previews and performs the undo of recorded transactions.

    Args:
        history: where transactions are stored; default :func:`get_history`.
        runner: runs rollback commands; default
            :class:`~cortex.utils.commands.SubprocessRunner` (with ``sudo`` when not root).
            Tests pass a runner that records instead of running.
    """

    def __init__(
        self, history: TransactionHistory | None = None, runner: CommandRunner | None = None
    ) -> None:
        self.history = history if history is not None else get_history()
        self.runner: CommandRunner = (
            runner if runner is not None else SubprocessRunner(privileged=True)
        )

    def can_undo(self, transaction_id: str) -> tuple[bool, str]:
        """``(True, warning or "Safe to undo")`` when the transaction can be undone."""
        tx = self.history.get_transaction(transaction_id)
        if tx is None:
            return False, "Transaction not found"
        if tx.status is TransactionStatus.ROLLED_BACK:
            return False, "Transaction already rolled back"
        if tx.status is not TransactionStatus.COMPLETED:
            return False, f"Cannot undo transaction with status: {tx.status.value}"
        if not rollback_argv(tx.transaction_type, tx.before_state):
            return False, "No rollback commands available"
        return True, tx.rollback_warning or "Safe to undo"

    def preview_undo(self, transaction_id: str) -> dict[str, Any]:
        """What :meth:`undo` would run, and the state change it would reverse."""
        tx = self.history.get_transaction(transaction_id)
        if tx is None:
            return {"error": "Transaction not found"}
        argv = rollback_argv(tx.transaction_type, tx.before_state)
        return {
            "transaction_id": tx.id,
            "original_type": tx.transaction_type.value,
            "packages": tx.packages,
            "commands": [shlex.join(a) for a in argv],
            "argv": argv,
            "is_safe": tx.is_rollback_safe,
            "warning": tx.rollback_warning,
            "state_changes": {
                name: {
                    "before": tx.before_state.get(name, PackageState(name)).to_dict(),
                    "after": tx.after_state.get(name, PackageState(name)).to_dict(),
                }
                for name in tx.packages
            },
        }

    def undo(
        self, transaction_id: str, dry_run: bool = False, force: bool = False
    ) -> dict[str, Any]:
        """Undo a transaction (or, with ``dry_run``, say what would be run).

        ``force`` overrides the safety warning of critical packages, not the status
        checks. The transaction is claimed in the database before anything runs, so
        concurrent calls for the same id run its commands once.
        """
        tx = self.history.get_transaction(transaction_id)
        if tx is None:
            return {"success": False, "error": "Transaction not found"}
        ok, reason = self.can_undo(transaction_id)
        if not ok:
            return {"success": False, "error": reason}
        if not tx.is_rollback_safe and not force:
            return {
                "success": False,
                "error": "Unsafe rollback - use force=True to override",
                "warning": tx.rollback_warning,
            }
        argv = rollback_argv(tx.transaction_type, tx.before_state)
        result: dict[str, Any] = {
            "transaction_id": transaction_id,
            "commands": [shlex.join(a) for a in argv],
            "dry_run": dry_run,
        }
        if dry_run:
            result.update(success=True, message="Dry run - no changes made")
            return result
        if not self.history._claim_for_undo(transaction_id):
            return {**result, "success": False, "error": "Transaction already rolled back"}
        errors = []
        for command in argv:
            outcome = self.runner.run(command)
            if outcome.returncode != 0:
                errors.append(f"{shlex.join(command)}: {outcome.stderr.strip()}")
        if errors:
            self.history._set_status(
                transaction_id, TransactionStatus.PARTIALLY_COMPLETED, "; ".join(errors)
            )
            result.update(success=False, errors=errors)
        else:
            result.update(success=True, message="Rollback completed successfully")
        return result

    def undo_last(self, dry_run: bool = False) -> dict[str, Any]:
        """Undo the most recent completed transaction."""
        recent = self.history.get_recent(limit=1, status_filter=TransactionStatus.COMPLETED)
        if not recent:
            return {"success": False, "error": "No completed transactions to undo"}
        return self.undo(recent[0].id, dry_run=dry_run)


# -- module-level access ------------------------------------------------------------------

_history: LazySingleton[TransactionHistory] = LazySingleton(
    TransactionHistory, name="transaction_history.get_history"
)
_undo_manager: LazySingleton[UndoManager] = LazySingleton(
    lambda: UndoManager(get_history()), name="transaction_history.get_undo_manager"
)


def get_history() -> TransactionHistory:
    """The process's one :class:`TransactionHistory` (created on first use)."""
    return _history.get()


def get_undo_manager() -> UndoManager:
    """The process's one :class:`UndoManager`, working on :func:`get_history`."""
    return _undo_manager.get()


def record_install(packages: list[str], command: str = "") -> Transaction:
    """Begin an install transaction in the shared history."""
    return get_history().begin_transaction(TransactionType.INSTALL, packages, command)


def record_remove(packages: list[str], command: str = "") -> Transaction:
    """Begin a remove transaction in the shared history."""
    return get_history().begin_transaction(TransactionType.REMOVE, packages, command)


def show_history(limit: int = 10) -> list[dict[str, Any]]:
    """The newest transactions as dictionaries."""
    return [tx.to_dict() for tx in get_history().get_recent(limit)]


def undo_last(dry_run: bool = False) -> dict[str, Any]:
    """Undo the most recent completed transaction through the shared undo manager."""
    return get_undo_manager().undo_last(dry_run)
