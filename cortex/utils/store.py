"""The one foundation under every SQLite store: where it lives, its schema, its clock.

Every module that keeps a SQLite database (transaction and installation history, semantic
cache, context memory, response cache, KV-cache and accelerator-limits databases) opens it
through :class:`SQLiteStore`, so the rules below hold for all of them alike.

**Where.** :func:`resolve_db_path` is the one path resolution: a path the caller passes
wins; otherwise ``CORTEX_DATA_DIR/<file>`` when that setting is set; otherwise the
store's default, where a system default (``/var/lib/cortex/...``) whose directory this
user cannot create or write falls back to ``~/.cortex/<file>``.

**A handle that reopens and lets go.** A store holds a
:class:`~cortex.utils.db_pool.PoolHandle`, never a pool: after
:func:`~cortex.utils.db_pool.close_all_pools` the next call simply opens a new pool, and
:meth:`SQLiteStore.close` (or the store being garbage-collected) releases the pool, which
closes once nobody holds it. Every store is also a context manager.

**Schema and migrations in one transaction, with a version.** :func:`ensure_schema` first
reads the store's recorded version (table ``cortex_schema``, one row per store, so two
stores may share a file) without taking the write lock; only when it is older than the
code's does it take ``BEGIN IMMEDIATE``, read the version again, create the tables, add
the columns an older table lacks, run the store's data migration, and record the new
version, all in that one transaction. Many processes opening an old (for example
upstream's) database at once therefore migrate it exactly once; the others wait for the
write lock, see the new version and do nothing.

**One time convention.** Stores write times with :func:`format_time`: UTC, timezone-aware,
ISO 8601 with microseconds and ``+00:00`` (``2026-01-02T03:04:05.000006+00:00``). Every new
value has the same width and zone, so ``ORDER BY`` on the text is chronological, across a
DST change too. Rows written before (naive local time, as upstream wrote them) are read
back as they were: :func:`parse_time` returns them unchanged. "Now" comes from the
store's clock (:data:`Clock`, default :func:`utc_now`), which tests inject.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from cortex.runtime import load_settings
from cortex.utils.atomic_file import ensure_private_dir
from cortex.utils.db_pool import Checkouts, PoolHandle, SQLiteConnectionPool

__all__ = [
    "SCHEMA_TABLE",
    "USER_DATA_DIR",
    "Clock",
    "SQLiteStore",
    "StoreSchema",
    "add_missing_columns",
    "data_dir",
    "ensure_schema",
    "format_time",
    "parse_time",
    "resolve_db_path",
    "run_statements",
    "schema_version",
    "to_utc",
    "utc_now",
]

log = logging.getLogger(__name__)

_S = TypeVar("_S", bound="SQLiteStore")

USER_DATA_DIR = Path("~/.cortex")
"""Where a store lives when neither the caller nor ``CORTEX_DATA_DIR`` says otherwise."""

SCHEMA_TABLE = "cortex_schema"
"""The table recording each store's schema version (``store TEXT, version INTEGER``)."""

# -- time -------------------------------------------------------------------------------

Clock = Callable[[], datetime]
"""The type of a store's clock, a function returning an aware datetime for "now"."""


def utc_now() -> datetime:
    """The default :data:`Clock`: now, in UTC, timezone-aware."""
    return datetime.now(timezone.utc)


def to_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, aware (a naive value is taken as local time, as Python does)."""
    return moment.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """The stored form of a time: UTC, aware, microseconds (fixed width, so it sorts)."""
    return to_utc(moment).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """A stored time read back: aware for values this module wrote, naive for old rows.

    Accepts a trailing ``Z`` on every Python version.

    Raises:
        ValueError: ``text`` is not an ISO 8601 time.
    """
    text = str(text)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


# -- where a store lives ----------------------------------------------------------------


def data_dir() -> Path | None:
    """``CORTEX_DATA_DIR`` (validated by :func:`cortex.runtime.load_settings`), or ``None``."""
    configured = load_settings().data_dir
    return None if configured is None else Path(configured)


def _usable_dir(directory: Path, mode: int) -> bool:
    try:
        ensure_private_dir(directory, mode=mode)
    except OSError:
        return False
    return os.access(directory, os.W_OK)


def resolve_db_path(
    db_path: str | os.PathLike[str] | None,
    default: str | os.PathLike[str],
    *,
    any_path_falls_back: bool = False,
) -> Path:
    """The file a store opens (the one path resolution of every store).

    Args:
        db_path: what the caller passed; ``None`` or the store's own ``default`` mean
            "the default location".
        default: the store's upstream default, e.g. ``/var/lib/cortex/cache.db`` or
            ``~/.cortex/context_memory.db``; its file name is kept everywhere.
        any_path_falls_back: a path the caller chose also falls back when its directory
            cannot be created or written (upstream's installation history does this).

    Returns:
        ``db_path`` (``~`` expanded) when the caller chose one; else
        ``CORTEX_DATA_DIR/<file name>`` when that setting is set; else ``default``. A
        system default (outside the home directory) whose directory cannot be created or
        written falls back to ``<file name>`` in ``CORTEX_DATA_DIR`` or ``~/.cortex``,
        with a logged warning.
    """
    default_text = os.fspath(default)
    name = Path(default_text).name
    configured = data_dir()
    if db_path is not None and os.fspath(db_path) != default_text:
        path = Path(db_path).expanduser()
        if not any_path_falls_back or _usable_dir(path.parent, 0o700):
            return path
    elif configured is not None:
        return configured / name
    else:
        path = Path(default_text).expanduser()
        if default_text.startswith("~") or _usable_dir(path.parent, 0o755):
            return path
    fallback = (configured if configured is not None else USER_DATA_DIR.expanduser()) / name
    log.warning("%s is not writable; using %s", path.parent, fallback)
    return fallback


# -- schema -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSchema:
    """What :func:`ensure_schema` sets up, and the version that says it is done.

    Every statement is a literal; nothing is formatted into SQL.
    """

    name: str
    """The store's key in :data:`SCHEMA_TABLE` (several stores may share a file)."""
    version: int
    """Raise it whenever ``create``, ``columns``, ``migrate`` or ``after`` change."""
    create: tuple[str, ...]
    """``CREATE ... IF NOT EXISTS`` statements (and seed ``INSERT OR IGNORE`` rows)."""
    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Table -> column -> the ``ALTER TABLE ... ADD COLUMN`` adding it to an older table."""
    migrate: Callable[[sqlite3.Connection, int], None] | None = None
    """Data migration, called with the version found (0 when none was recorded)."""
    after: tuple[str, ...] = ()
    """Statements that need the added columns (indexes on them)."""


def run_statements(conn: sqlite3.Connection, statements: str | tuple[str, ...]) -> None:
    """Run statements inside the open transaction (``executescript`` would commit first).

    A string is split on ``;`` (no statement here contains one in a literal).
    """
    items = statements.split(";") if isinstance(statements, str) else statements
    for statement in items:
        if statement.strip():
            conn.execute(statement)


def add_missing_columns(conn: Any, table: str, statements: Mapping[str, str]) -> list[str]:
    """Add the columns an older copy of ``table`` lacks (rows are kept); return their names.

    Run it inside a write transaction (:func:`ensure_schema` does), or two processes can
    both find a column missing and the second ``ALTER TABLE`` fails.

    Args:
        conn: an open connection (inside a checkout).
        table: the table's name, passed as a parameter (never formatted into SQL).
        statements: column name -> the complete literal ``ALTER TABLE ... ADD COLUMN``
            statement that adds it; run for each column ``table`` does not have.

    Returns:
        The names of the columns added, in the order of ``statements``.
    """
    present = {row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}
    added = [name for name in statements if name not in present]
    for name in added:
        conn.execute(statements[name])
    return added


def _recorded_version(conn: sqlite3.Connection, name: str) -> int:
    try:
        row = conn.execute("SELECT version FROM cortex_schema WHERE store = ?", (name,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return 0
    return int(row[0]) if row else 0


def schema_version(pool: Checkouts, name: str) -> int:
    """The version recorded for store ``name`` in its file (0 when none is)."""
    with pool.get_connection() as conn:
        return _recorded_version(conn, name)


def ensure_schema(pool: SQLiteConnectionPool, schema: StoreSchema) -> bool:
    """Bring the file up to ``schema`` once, safely with many processes at once.

    Returns:
        True when this call created or migrated the schema, False when it was current.
    """
    if schema_version(pool, schema.name) >= schema.version:
        return False  # the common case: no write lock
    with pool.transaction() as conn:  # BEGIN IMMEDIATE: one migrator at a time
        found = _recorded_version(conn, schema.name)
        if found >= schema.version:
            return False  # another process did it while we waited for the lock
        run_statements(conn, schema.create)
        for table, columns in schema.columns.items():
            add_missing_columns(conn, table, columns)
        if schema.migrate is not None:
            schema.migrate(conn, found)
        run_statements(conn, schema.after)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS cortex_schema "
            "(store TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        conn.execute(
            "INSERT INTO cortex_schema (store, version) VALUES (?, ?) "
            "ON CONFLICT(store) DO UPDATE SET version = excluded.version",
            (schema.name, schema.version),
        )
    log.debug("%s: schema %s set up at version %d", pool.db_path, schema.name, schema.version)
    return True


# -- the store --------------------------------------------------------------------------


class SQLiteStore:
    """Base of every SQLite store: a reopening pool handle, its schema, a clock, close().

    Args:
        db_path: the caller's path, resolved by :func:`resolve_db_path` against
            ``default``.
        default: the store's default file.
        schema: set up by :func:`ensure_schema` before the constructor returns.
        clock: "now" for this store; default :func:`utc_now`.
        any_path_falls_back: see :func:`resolve_db_path`.

    Raises:
        DatabaseFileError: the file is not SQLite (left untouched), cannot be created, or
            (:class:`~cortex.utils.db_pool.DatabaseReadOnlyError`) cannot be written.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None,
        *,
        default: str | os.PathLike[str],
        schema: StoreSchema,
        clock: Clock | None = None,
        any_path_falls_back: bool = False,
    ) -> None:
        self._clock: Clock = clock if clock is not None else utc_now
        self._pool_handle = PoolHandle(
            resolve_db_path(db_path, default, any_path_falls_back=any_path_falls_back)
        )
        try:
            ensure_schema(self._pool_handle.get(), schema)
        except BaseException:
            self._pool_handle.close()
            raise

    _pool_override: Checkouts | None = None

    @property
    def _pool(self) -> Checkouts:
        """Checkouts on this store's file: its handle (the open pool, a new one after any close)."""
        if self._pool_override is not None:
            return self._pool_override
        return self._pool_handle

    @_pool.setter
    def _pool(self, pool: Checkouts) -> None:
        """Use ``pool`` instead (how the tests put an unsafe twin pool under a store)."""
        self._pool_override = pool

    def _now(self) -> datetime:
        """Now, from this store's clock, in UTC."""
        return to_utc(self._clock())

    def close(self) -> None:
        """Release this store's hold on its pool (closed once nobody holds it).

        Calling it twice is harmless; a store used again after ``close`` opens its pool
        again.
        """
        self._pool_handle.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
