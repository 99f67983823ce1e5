"""A bounded SQLite connection pool that commits or rolls back on every path.

One pool per database file (:func:`get_connection_pool`); every checkout is exclusive to
the thread that holds it and ends in a commit (the block finished) or a rollback (it
raised). Upstream's pool lost commits, let two threads share a connection and kept the
settings of whichever caller came first; each of those is a documented rule here:

**Paths.** A path is normalised (``~`` expanded, made absolute, symlinks resolved) before
the registry lookup, so ``~/.cortex/x.db``, a relative spelling and a symlink reach the same
pool. ``:memory:`` is refused: every pooled connection would get its own empty database.

**Size.** At most ``pool_size`` connections (default ``CORTEX_DB_POOL_SIZE``), opened
lazily. A checkout waits up to ``timeout`` seconds for a free one, then raises
:class:`PoolTimeoutError`.

**Each connection** runs in WAL mode (verified from the pragma's answer; a filesystem that
refuses WAL keeps its journal mode and a warning is logged once), with a busy timeout of
``timeout`` seconds, ``synchronous=NORMAL`` and a 2 MiB page cache. Implicit transactions
begin with ``BEGIN IMMEDIATE`` (``isolation_level="IMMEDIATE"``), so a writer takes the write
lock before its first change and two writers never deadlock on a read-to-write upgrade.
:meth:`SQLiteConnectionPool.transaction` does the same for read-modify-write blocks.

**Checkout.** :meth:`SQLiteConnectionPool.get_connection` commits when the block ends
normally and rolls back when it raises, then resets the connection (row factory, text
factory, isolation level, open transaction) before the next thread gets it. A connection or
cursor (executing or fetching) used after its block, or from another thread, raises
:class:`PoolMisuseError` instead of silently sharing the connection; a connection closed
inside its block, or whose rollback failed, is discarded instead of being handed out again.
:meth:`SQLiteConnectionPool.fetch_one` is the fast path for one look-up: the connection
never leaves the call, so it runs the statement without the context manager or the owner
checks, with the same commit-or-rollback rule.

**Settings conflicts.** :func:`get_connection_pool` called again for the same file with an
explicit ``pool_size`` or ``timeout`` that differs from the existing pool's raises
:class:`PoolConfigError`; passing ``None`` (the default) accepts the existing pool.

**Close and fork.** After :meth:`SQLiteConnectionPool.close`, checkouts raise
:class:`PoolClosedError` and connections still checked out are closed when returned. In a
child process after ``fork`` every pool forgets the parent's connections (never closing or
reusing them) and opens its own; a parent's connection still checked out at the fork
raises :class:`PoolMisuseError` if the child touches it.

**Bad files.** A file that is not a SQLite database, or a directory that cannot be written,
raises :class:`DatabaseFileError` naming the path; the file is never modified (an existing
file is read, and checked with ``PRAGMA quick_check`` before it is first switched to WAL).
A checkout whose statement or commit fails because the database or its disk is full ends in
a rollback, then raises :class:`DatabaseFullError` (a :class:`sqlite3.OperationalError`)
naming the path and saying that nothing of the transaction was written; SQLite's own error
is its ``__cause__``.

**Read-only files.** A healthy database that cannot be written (its file has no write
permission, or SQLite answers "readonly") raises :class:`DatabaseReadOnlyError` saying
``read-only: PATH (check its permissions)``; "move it aside" is kept for files that are
not SQLite. For root, whom permission bits do not stop, a database file with no write bit
at all is opened read-only too, so the user's ``chmod a-w`` is respected.

**A store's handle and the registry.** :class:`PoolHandle` is what a store holding one
database keeps: it creates the file's directory (0700), normalises the path, and its
:meth:`~PoolHandle.get` returns the registry pool, fetched again once
:func:`close_all_pools` (or anything else) has closed the one it held. Each handle counts as
one holder of its pool; :meth:`PoolHandle.close`, or the handle being garbage-collected,
releases it, and a pool whose last holder is gone is closed and leaves the registry, so a
program opening many databases keeps only the file descriptors of those still in use.
A pool returned by :func:`get_connection_pool` (upstream's API) is *pinned*: it stays open
until :meth:`SQLiteConnectionPool.close` or :func:`close_all_pools`.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import sqlite3
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from cortex.runtime import load_settings
from cortex.utils.atomic_file import ensure_private_dir

__all__ = [
    "Checkouts",
    "DatabaseFileError",
    "DatabaseFullError",
    "DatabaseReadOnlyError",
    "PoolClosedError",
    "PoolConfigError",
    "PoolHandle",
    "PoolMisuseError",
    "PoolStats",
    "PoolTimeoutError",
    "PooledConnection",
    "SQLiteConnectionPool",
    "all_pool_stats",
    "close_all_pools",
    "get_connection_pool",
    "normalize_db_path",
]

log = logging.getLogger(__name__)

_PAGE_CACHE_KIB = 2048
_FORKED = -1  # owner of a connection inherited through fork: no thread of the child
_BUSY_RETRIES = 5  # extra BEGIN IMMEDIATE attempts after the busy timeout has expired


class PoolClosedError(RuntimeError):
    """A checkout was attempted on a closed pool."""


class PoolTimeoutError(TimeoutError):
    """No connection became free within the pool's timeout."""


class PoolConfigError(ValueError):
    """The same database file was asked for with conflicting pool settings."""


class PoolMisuseError(sqlite3.ProgrammingError):
    """A pooled connection or cursor was used outside the checkout that owns it."""


class DatabaseFileError(sqlite3.DatabaseError):
    """The database file is not SQLite, is corrupt, or its directory cannot be written."""


class DatabaseReadOnlyError(DatabaseFileError):
    """A healthy database that cannot be written: ``read-only: PATH (check its permissions)``.

    The file is left untouched; nothing suggests moving it aside.
    """


class DatabaseFullError(sqlite3.OperationalError):
    """A checkout failed because the database or its disk is full; it was rolled back.

    The message names the file; SQLite's error (``database or disk is full``) is the
    ``__cause__``, and its ``sqlite_errorcode`` and ``sqlite_errorname`` are copied when the
    Python version has them.
    """


def _is_disk_full(exc: BaseException) -> bool:
    """True for SQLite's "database or disk is full" error not yet turned into ours."""
    return (
        isinstance(exc, sqlite3.OperationalError)
        and not isinstance(exc, DatabaseFullError)
        and "disk is full" in str(exc)
    )


def _database_full(db_path: str, exc: BaseException) -> DatabaseFullError:
    """The :class:`DatabaseFullError` to raise (``from exc``) for ``exc`` on ``db_path``."""
    error = DatabaseFullError(f"{db_path}: {exc}; nothing of this transaction was written")
    for name in ("sqlite_errorcode", "sqlite_errorname"):  # Python 3.11+
        if hasattr(exc, name):
            setattr(error, name, getattr(exc, name))
    return error


_SQLITE_READONLY = 8  # the primary result code of every SQLITE_READONLY_* error
_SQLITE_CANTOPEN = 14
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def _is_read_only_error(exc: BaseException) -> bool:
    """True for SQLite's "attempt to write a readonly database" family of errors."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF == _SQLITE_READONLY
    return "readonly" in str(exc) or "read-only" in str(exc)


def _may_write(path: Path) -> bool:
    """Whether this process should write ``path`` (an existing file or directory).

    ``os.access`` for ordinary users. Root passes every permission check, so for root a
    path with no write bit at all counts as read-only: the user made it so on purpose.
    """
    try:
        if os.geteuid() == 0:
            return bool(path.stat().st_mode & 0o222)
        return os.access(path, os.W_OK)
    except OSError:
        return True  # missing: SQLite will say what is wrong


def _is_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY and SQLITE_LOCKED: another connection holds a lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _cannot_open_in(exc: BaseException, directory: Path) -> bool:
    """SQLite could not open a journal file (``-wal``, ``-shm``) in a read-only directory."""
    code = getattr(exc, "sqlite_errorcode", None)
    cannot_open = (
        code & 0xFF == _SQLITE_CANTOPEN if isinstance(code, int) else ("unable to open" in str(exc))
    )
    return cannot_open and not _may_write(directory)


def _read_only(db_path: str) -> DatabaseReadOnlyError:
    return DatabaseReadOnlyError(f"read-only: {db_path} (check its permissions)")


def normalize_db_path(db_path: str | os.PathLike[str]) -> str:
    """The canonical spelling of a database path: ``~`` expanded, absolute, symlinks resolved.

    Raises:
        ValueError: for ``:memory:`` and other in-memory or URI names, which cannot be pooled.
    """
    raw = os.fspath(db_path)
    if raw in ("", ":memory:") or raw.startswith("file:"):
        raise ValueError(
            f"cannot pool {raw!r}: every pooled connection would open its own database; "
            "use a file (for tests, one in a temporary directory)"
        )
    return os.path.realpath(os.path.expanduser(raw))


_get_ident = threading.get_ident
_execute = sqlite3.Connection.execute  # the base method: no owner check (see fetch_one)


def _misuse() -> PoolMisuseError:
    return PoolMisuseError(
        "pooled SQLite connection used outside its checkout (after the `with` "
        "block ended, or from another thread); keep all use inside the block"
    )


class Checkouts(Protocol):
    """What a store asks of its pool: :class:`SQLiteConnectionPool` and :class:`PoolHandle`."""

    def get_connection(self) -> AbstractContextManager[sqlite3.Connection]:
        """A checkout that commits at the end of the block (see the pool's method)."""
        ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A checkout inside ``BEGIN IMMEDIATE`` (see the pool's method)."""
        ...

    def fetch_one(self, sql: str, parameters: Any = (), /) -> Any:
        """The first row of one read-only statement (see the pool's method)."""
        ...


class PooledCursor(sqlite3.Cursor):
    """A cursor that refuses to run once its connection's checkout has ended.

    Each method compares the connection's owner with the calling thread: one attribute
    read and one comparison, cheap next to the SQLite call it guards.
    """

    def execute(self, sql: str, parameters: Any = (), /) -> PooledCursor:
        """Run one statement (checked against the checkout's owner)."""
        if self.connection._owner != _get_ident():  # type: ignore[attr-defined]
            raise _misuse()
        super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> PooledCursor:
        """Run one statement for each parameter set (checked against the owner)."""
        if self.connection._owner != _get_ident():  # type: ignore[attr-defined]
            raise _misuse()
        super().executemany(sql, seq_of_parameters)
        return self

    def executescript(self, sql_script: str, /) -> PooledCursor:
        """Run a script (checked against the owner)."""
        if self.connection._owner != _get_ident():  # type: ignore[attr-defined]
            raise _misuse()
        super().executescript(sql_script)
        return self

    def fetchone(self) -> Any:
        """The next row (checked against the owner: rows come from the shared connection)."""
        if self.connection._owner != _get_ident():  # type: ignore[attr-defined]
            raise _misuse()
        return super().fetchone()

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next ``size`` rows (checked against the owner)."""
        if self.connection._owner != _get_ident():  # type: ignore[attr-defined]
            raise _misuse()
        return super().fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[Any]:
        """The remaining rows (checked against the owner)."""
        if self.connection._owner != _get_ident():  # type: ignore[attr-defined]
            raise _misuse()
        return super().fetchall()

    def __next__(self) -> Any:
        """The next row when iterating (checked against the owner)."""
        if self.connection._owner != _get_ident():  # type: ignore[attr-defined]
            raise _misuse()
        return super().__next__()


class PooledConnection(sqlite3.Connection):
    """A :class:`sqlite3.Connection` that only its current borrower's thread may use.

    ``_owner`` is the thread identifier of the checkout holding it, or ``None`` while the
    connection is idle in the pool. It is written only by the pool (at checkout and
    return), and read by every statement to catch use after return.
    """

    _owner: int | None = None

    def _check_owner(self) -> None:
        if self._owner != _get_ident():
            raise _misuse()

    def cursor(self, factory: Any = PooledCursor) -> Any:
        """A cursor bound to this checkout."""
        if self._owner != _get_ident():
            raise _misuse()
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """Run one statement on a new cursor (checked against the owner)."""
        if self._owner != _get_ident():
            raise _misuse()
        # Checked once here, so call the base methods directly: this is the hot path.
        cursor = sqlite3.Connection.cursor(self, PooledCursor)
        sqlite3.Cursor.execute(cursor, sql, parameters)
        return cursor

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        """Run one statement per parameter set (checked against the owner)."""
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.executemany(sql, parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        """Run a script (checked against the owner)."""
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.executescript(sql_script)

    def pragma(self, statement: str) -> str:
        """Run ``PRAGMA <statement>`` and return its first value as lower-case text."""
        row = self.execute(f"PRAGMA {statement}").fetchone()
        return str(row[0]).lower() if row else ""

    def commit(self) -> None:
        """Commit (checked against the owner)."""
        self._check_owner()
        super().commit()

    def rollback(self) -> None:
        """Roll back (checked against the owner)."""
        self._check_owner()
        super().rollback()


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of one pool's counters (what ``cortex doctor`` shows)."""

    path: str
    size: int
    """Most connections the pool opens."""
    opened: int
    """Connections open now."""
    in_use: int
    """Connections checked out now."""
    checkouts: int
    """Checkouts since the pool was created."""
    wait_total_s: float
    """Total time callers waited for a free connection."""
    wait_max_s: float
    """Longest single wait."""
    timeouts: int
    """Checkouts that gave up after the pool's timeout."""
    busy_retries: int
    """``BEGIN IMMEDIATE`` attempts repeated because another process held the write lock."""
    rollbacks: int
    """Checkouts that ended in a rollback because their block raised."""
    journal_mode: str
    """``wal`` normally; anything else means the filesystem refused WAL."""
    closed: bool


class SQLiteConnectionPool:
    """A bounded pool of connections to one SQLite file; see the module documentation.

    Prefer :func:`get_connection_pool`, which returns the one pool for a file; building a
    pool directly gives a separate set of connections to the same file (still correct:
    SQLite and WAL coordinate them, but they are not shared).

    Args:
        db_path: the database file; created if missing (its directory must exist).
        pool_size: most connections kept open.
        timeout: seconds to wait for a free connection, and SQLite's busy timeout.
        check_same_thread: accepted for compatibility with upstream and ignored: pooled
            connections move between threads, and ownership is checked per checkout.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        pool_size: int = 5,
        timeout: float = 5.0,
        check_same_thread: bool = False,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, not {pool_size}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        del check_same_thread  # see the docstring
        self.db_path = normalize_db_path(db_path)
        self.pool_size = pool_size
        self.timeout = timeout
        self._holders = 0  # PoolHandles holding it (guarded by _pools_lock)
        self._pinned = False  # returned by get_connection_pool(): never released (same)
        self._init_state()
        with _every_pool_lock:
            _every_pool.add(self)

    def _init_state(self) -> None:
        # _lock guards every attribute below it; it is never held while SQLite works.
        # _cond is built on it, for callers waiting for a free connection.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._idle: list[PooledConnection] = []
        self._waiting = 0  # callers blocked in _cond.wait(); release notifies only then
        self._all: set[PooledConnection] = set()  # every open connection, idle or in use
        self._opened = 0
        self._in_use = 0
        self._closed = False
        self._checkouts = 0
        self._wait_total = 0.0
        self._wait_max = 0.0
        self._timeouts = 0
        self._busy_retries = 0
        self._rollbacks = 0
        self._journal_mode = "unknown"
        self._warned_journal = False

    # -- opening ---------------------------------------------------------------------

    def _open(self) -> PooledConnection:
        """Open and configure one connection (called without the lock held)."""
        path = Path(self.db_path)
        existed = path.exists()
        read_only = existed and not _may_write(path)
        target = f"file:{urllib.parse.quote(self.db_path)}?mode=ro" if read_only else self.db_path
        try:
            conn = sqlite3.connect(
                target,
                timeout=self.timeout,
                isolation_level="IMMEDIATE",
                check_same_thread=False,
                factory=PooledConnection,
                uri=read_only,
            )
        except sqlite3.OperationalError as exc:
            if read_only or not _may_write(path.parent) or _is_read_only_error(exc):
                raise _read_only(self.db_path) from exc
            raise DatabaseFileError(
                f"cannot open SQLite database {self.db_path}: {exc} "
                f"(does {path.parent} exist and is it writable?)"
            ) from exc
        assert isinstance(conn, PooledConnection)
        conn._owner = threading.get_ident()  # the opening thread configures it
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            try:
                mode = self._configure(conn, existed=existed, read_only=read_only)
                break
            except DatabaseReadOnlyError:
                conn.close()
                raise
            except sqlite3.DatabaseError as exc:
                if _is_busy(exc) and time.monotonic() < deadline:
                    # Another process holds a lock SQLite does not wait for here (a
                    # journal-mode switch or a schema migration in progress): it is
                    # healthy, so wait and configure again.
                    time.sleep(min(0.2, 0.005 * 2**attempt))
                    attempt += 1
                    continue
                conn.close()
                if _is_busy(exc):
                    raise
                if read_only or _is_read_only_error(exc) or _cannot_open_in(exc, path.parent):
                    raise _read_only(self.db_path) from exc
                raise DatabaseFileError(
                    f"{self.db_path} is not a usable SQLite database ({exc}); "
                    "it was left untouched: move it aside to start a new one"
                ) from exc
        if not existed:
            with contextlib.suppress(OSError):
                os.chmod(self.db_path, 0o600)
        self._note_journal_mode(mode)
        return conn

    def _configure(self, conn: PooledConnection, *, existed: bool, read_only: bool) -> str:
        """Check a new connection's file and set it up; return the journal mode obtained."""
        # The first statements only read: a non-SQLite file, a damaged header or schema
        # fails here, before anything could write to it. Switching a file to WAL rewrites
        # its header, so an existing file not yet in WAL is checked first.
        conn.pragma("schema_version")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if existed and conn.pragma("journal_mode") != "wal":
            check = conn.pragma("quick_check(1)")
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
        if read_only:  # healthy, but nothing may be written: say so, not "move it aside"
            raise _read_only(self.db_path)
        mode = conn.pragma("journal_mode=WAL")
        conn.pragma(f"busy_timeout={int(self.timeout * 1000)}")
        conn.pragma("synchronous=NORMAL")
        conn.pragma(f"cache_size=-{_PAGE_CACHE_KIB}")
        return mode

    def _note_journal_mode(self, mode: str) -> None:
        with self._lock:
            self._journal_mode = mode
            warn = mode != "wal" and not self._warned_journal
            self._warned_journal = self._warned_journal or warn
        if warn:
            log.warning(
                "SQLite refused WAL for %s (journal_mode=%s): readers and the writer will "
                "block each other more; is it on a network filesystem?",
                self.db_path,
                mode,
            )

    # -- checkout --------------------------------------------------------------------

    def _acquire(self) -> PooledConnection:
        create = False
        waited = 0.0
        with self._lock:
            started = deadline = 0.0
            while True:
                if self._closed:
                    raise PoolClosedError(f"the connection pool for {self.db_path} is closed")
                if self._idle:
                    conn = self._idle.pop()
                    break
                if self._opened < self.pool_size:
                    self._opened += 1  # reserve the slot; open outside the lock
                    create = True
                    break
                now = time.monotonic()
                if not started:  # the clock is read only when a caller has to wait
                    started, deadline = now, now + self.timeout
                remaining = deadline - now
                if remaining <= 0:
                    self._timeouts += 1
                    raise PoolTimeoutError(
                        f"no connection to {self.db_path} became free within "
                        f"{self.timeout:g} s (pool size {self.pool_size}); raise "
                        "CORTEX_DB_POOL_SIZE or shorten the work done inside checkouts"
                    )
                self._waiting += 1
                try:
                    self._cond.wait(remaining)
                finally:
                    self._waiting -= 1
            if started:
                waited = time.monotonic() - started
                self._wait_total += waited
                self._wait_max = max(self._wait_max, waited)
            self._checkouts += 1
            self._in_use += 1
        if create:
            try:
                conn = self._open()
            except BaseException:
                with self._lock:
                    self._opened -= 1
                    self._in_use -= 1
                    self._checkouts -= 1  # it never happened
                    self._cond.notify()
                raise
            with self._lock:
                self._all.add(conn)
        conn._owner = threading.get_ident()
        return conn

    def _release(self, conn: PooledConnection, *, broken: bool) -> None:
        conn._owner = None
        if not broken:
            # Reset what a borrower may have changed; each check is cheaper than a set.
            if conn.row_factory is not None:
                conn.row_factory = None
            if conn.text_factory is not str:
                conn.text_factory = str
            if conn.isolation_level != "IMMEDIATE":
                conn.isolation_level = "IMMEDIATE"
        with self._lock:
            if conn not in self._all:
                inherited = True
            else:
                inherited = False
                self._in_use -= 1
                keep = not broken and not self._closed
                if keep:
                    self._idle.append(conn)
                else:
                    self._opened -= 1
                    self._all.discard(conn)
                if self._waiting:
                    self._cond.notify()
        if inherited:
            # Checked out before a fork and returned in the child: the parent still owns
            # it. Closing it here could drop the child's own file locks on the database.
            _keep_inherited([conn])
        elif not keep:
            conn.close()

    def get_connection(self) -> AbstractContextManager[sqlite3.Connection]:
        """Check out a connection for the calling thread: ``with pool.get_connection() as conn:``.

        The block's changes are committed when it ends normally and rolled back when it
        raises; either way the connection is reset and returned to the pool. Use the
        connection (and its cursors) only inside the block, from this thread.

        Raises:
            PoolClosedError: the pool was closed.
            PoolTimeoutError: no connection became free within ``timeout`` seconds.
            DatabaseFileError: the file is not SQLite or cannot be opened.
            DatabaseFullError: (when the block ends) a statement in it or the commit
                failed because the database or its disk is full; rolled back.
        """
        return _Checkout(self, immediate=False)

    def fetch_one(self, sql: str, parameters: Any = (), /) -> Any:
        """The first row of one read-only statement, run on a pooled connection.

        The fast path for a single look-up: the connection never leaves this call, so the
        checkout's context manager and its per-statement owner checks are not needed (the
        statement runs on :class:`sqlite3.Connection`'s own methods). A statement that
        leaves a transaction open is committed, one that raises is rolled back, as in a
        checkout.

        Raises:
            PoolClosedError: the pool was closed.
            PoolTimeoutError: no connection became free within ``timeout`` seconds.
        """
        conn = self._acquire()
        try:
            row = _execute(conn, sql, parameters).fetchone()
        except BaseException as exc:
            self._finish(conn, failed=True)
            if _is_disk_full(exc):
                raise _database_full(self.db_path, exc) from exc
            raise
        if conn.in_transaction:
            self._finish(conn, failed=False)
        else:
            self._release(conn, broken=False)
        return row

    def _finish(self, conn: PooledConnection, failed: bool) -> None:
        """End a checkout: commit or roll back, then hand the connection back."""
        broken = False
        try:
            if failed:
                broken = not self._roll_back(conn)
            else:
                try:
                    if conn.in_transaction:  # raises too if the block closed the connection
                        conn.commit()
                except BaseException as exc:
                    broken = not self._roll_back(conn)
                    if _is_disk_full(exc):
                        raise _database_full(self.db_path, exc) from exc
                    raise
        finally:
            self._release(conn, broken=broken)

    def _roll_back(self, conn: PooledConnection) -> bool:
        """Roll back after a failure; False when the connection cannot be trusted again.

        A connection closed inside the block, or one whose rollback fails, is closed
        instead of going back to the pool.
        """
        with self._lock:
            self._rollbacks += 1
        try:
            if conn.in_transaction:
                conn.rollback()
            return not conn.in_transaction
        except sqlite3.Error:
            return False

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """Check out a connection inside ``BEGIN IMMEDIATE`` (for read-modify-write).

        The write lock is taken before the block runs, so what the block reads cannot
        change before it writes, and two such blocks never deadlock. Commits at the end,
        rolls back if the block raises (raising :class:`DatabaseFullError` when it failed
        because the database or its disk is full).
        """
        return _Checkout(self, immediate=True)

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        for attempt in range(_BUSY_RETRIES + 1):
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if attempt == _BUSY_RETRIES:
                    raise
                with self._lock:
                    self._busy_retries += 1
                time.sleep(0.01 * 2**attempt)

    # -- lifecycle and metrics -------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    def stats(self) -> PoolStats:
        """A consistent snapshot of this pool's counters."""
        with self._lock:
            return PoolStats(
                path=self.db_path,
                size=self.pool_size,
                opened=self._opened,
                in_use=self._in_use,
                checkouts=self._checkouts,
                wait_total_s=self._wait_total,
                wait_max_s=self._wait_max,
                timeouts=self._timeouts,
                busy_retries=self._busy_retries,
                rollbacks=self._rollbacks,
                journal_mode=self._journal_mode,
                closed=self._closed,
            )

    def close(self) -> None:
        """Close idle connections now and the others when they are returned.

        Every later checkout raises :class:`PoolClosedError`. Calling it twice is harmless.
        """
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            self._all.difference_update(idle)
            self._cond.notify_all()  # waiters wake up and see the pool closed
        for conn in idle:
            conn.close()
        _unregister(self)

    def close_all(self) -> None:
        """Upstream's name for :meth:`close`."""
        self.close()

    def __enter__(self) -> SQLiteConnectionPool:
        """``with SQLiteConnectionPool(path) as pool:`` closes the pool at the end (upstream)."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _forget_after_fork(self) -> None:
        """In a forked child: drop the parent's connections without touching them.

        They are kept referenced (never closed, never used): closing a copy of the
        parent's connection in the child could release the child's own POSIX locks on
        the file (SQLite's "how to corrupt" list, section 2).
        """
        inherited = list(self._all)
        for conn in inherited:
            conn._owner = _FORKED  # any use in the child, even inside a block, raises
        _keep_inherited(inherited)
        closed = self._closed
        self._init_state()  # new lock too: the parent's may have been held at fork time
        self._closed = closed

    def __repr__(self) -> str:
        return f"<SQLiteConnectionPool {self.db_path} size={self.pool_size}>"


class _Checkout:
    """The context manager behind ``get_connection()`` and ``transaction()``."""

    __slots__ = ("_conn", "_immediate", "_pool", "_reopen")

    def __init__(
        self,
        pool: SQLiteConnectionPool,
        *,
        immediate: bool,
        reopen: Callable[[], SQLiteConnectionPool] | None = None,
    ) -> None:
        self._pool = pool
        self._immediate = immediate
        self._reopen = reopen  # a PoolHandle's get(): where to go when the pool has closed
        self._conn: PooledConnection | None = None

    def __enter__(self) -> sqlite3.Connection:
        if self._conn is not None:
            raise RuntimeError("a checkout cannot be entered twice; call get_connection() again")
        try:
            conn = self._pool._acquire()
        except PoolClosedError:
            if self._reopen is None:
                raise
            # Closed after the handle returned it (close_all_pools(), or its last other
            # holder letting go): nothing has run yet, so the handle's open pool serves it.
            self._pool = self._reopen()
            conn = self._pool._acquire()
        self._conn = conn
        if self._immediate:
            try:
                self._pool._begin_immediate(conn)
            except BaseException:
                self._conn = None
                self._pool._finish(conn, failed=True)
                raise
        return conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None, "__exit__ without __enter__"
        if exc_type is None:
            self._pool._finish(conn, failed=False)
            return
        self._pool._finish(conn, failed=True)  # rolled back before anything is raised
        if exc is not None and _is_disk_full(exc):
            raise _database_full(self._pool.db_path, exc) from exc


# -- the registry --------------------------------------------------------------------

# Connections inherited from the parent process after a fork: referenced here so that the
# child never closes (or garbage-collects) them. Only appended to; list.extend is atomic.
_inherited: list[sqlite3.Connection] = []


def _keep_inherited(conns: list[PooledConnection]) -> None:
    _inherited.extend(conns)


# Every pool, registered or built directly, so that the fork hook reaches all of them.
_every_pool: weakref.WeakSet[SQLiteConnectionPool] = weakref.WeakSet()
_every_pool_lock = threading.Lock()  # guards _every_pool

_pools: dict[str, SQLiteConnectionPool] = {}
# _pools_lock guards _pools and every pool's _holders and _pinned; it is never held while a
# database is opened or a pool is closed.
_pools_lock = threading.Lock()


# Cells of handles that were released (closed, or garbage-collected: a finalizer can run in
# any thread at any allocation, including in a thread that holds _pools_lock). Appended
# without a lock (deque.append is atomic); drained under _pools_lock by whoever can take it.
_released: collections.deque[list[SQLiteConnectionPool | None]] = collections.deque()


def _drain_released() -> None:
    """Let go of the pools of released handles, unless ``_pools_lock`` is busy.

    A busy lock means another holder (perhaps this very thread, interrupted by a finalizer)
    drains right after releasing it: see :func:`_registry`. So a finalizer never waits for
    the lock, and no release is lost.
    """
    while _released:
        if not _pools_lock.acquire(blocking=False):
            return
        closing = []
        try:
            while _released:
                cell = _released.popleft()
                pool, cell[0] = cell[0], None
                if pool is None:
                    continue
                pool._holders -= 1
                if pool._holders <= 0 and not pool._pinned and _pools.get(pool.db_path) is pool:
                    del _pools[pool.db_path]
                    closing.append(pool)
        finally:
            _pools_lock.release()
        for pool in closing:
            pool.close()  # outside the lock: closing waits for nothing but takes pool._lock


@contextlib.contextmanager
def _registry() -> Iterator[None]:
    """Hold ``_pools_lock``; afterwards, drain the releases that arrived meanwhile."""
    with _pools_lock:
        yield
    _drain_released()


def _registry_pool_locked(
    path: str, pool_size: int | None, timeout: float | None
) -> tuple[SQLiteConnectionPool, bool]:
    """The registry's pool for ``path`` (created if missing) and whether it was created.

    The caller holds ``_pools_lock``; building a pool opens nothing (connections are lazy).
    """
    pool = _pools.get(path)
    if pool is not None and not pool.closed:  # a closed one may not have unregistered yet
        return pool, False
    size = pool_size if pool_size is not None else load_settings().db_pool_size
    pool = SQLiteConnectionPool(path, size, 5.0 if timeout is None else timeout)
    _pools[path] = pool
    return pool, True


def get_connection_pool(
    db_path: str | os.PathLike[str],
    pool_size: int | None = None,
    timeout: float | None = None,
) -> SQLiteConnectionPool:
    """The one open pool for ``db_path``, created on first use, pinned until closed.

    A pool returned here stays open (whoever else releases it) until
    :meth:`SQLiteConnectionPool.close` or :func:`close_all_pools`: the caller may keep it.
    Stores use :class:`PoolHandle`, which releases the pool when they are done.

    Args:
        db_path: any spelling of the database file (``~``, relative, through a symlink).
        pool_size: most connections; ``None`` means the existing pool's, or
            ``CORTEX_DB_POOL_SIZE`` for a new one.
        timeout: checkout and busy timeout in seconds; ``None`` means the existing pool's,
            or 5 s for a new one.

    Raises:
        PoolConfigError: an explicit ``pool_size`` or ``timeout`` differs from the open
            pool's for the same file.
    """
    path = normalize_db_path(db_path)
    with _registry():
        pool, created = _registry_pool_locked(path, pool_size, timeout)
        pool._pinned = True
    if created:
        return pool
    conflicts = []
    if pool_size is not None and pool_size != pool.pool_size:
        conflicts.append(f"pool_size={pool_size} (open pool has {pool.pool_size})")
    if timeout is not None and timeout != pool.timeout:
        conflicts.append(f"timeout={timeout} (open pool has {pool.timeout})")
    if conflicts:
        raise PoolConfigError(
            f"conflicting settings for {path}: {', '.join(conflicts)}; pass None to share "
            "the open pool, or close it first"
        )
    return pool


def _unregister(pool: SQLiteConnectionPool) -> None:
    with _registry():
        if _pools.get(pool.db_path) is pool:
            del _pools[pool.db_path]


def _hold_again(cell: list[SQLiteConnectionPool | None], path: str) -> SQLiteConnectionPool:
    """Make ``cell`` hold the registry's open pool for ``path`` (a handle's slow path).

    Two threads of one handle that both find its pool closed end up holding one pool once.
    """
    with _registry():
        pool = cell[0]
        if pool is not None and not pool.closed:
            return pool  # another thread got here first
        if pool is not None:
            pool._holders -= 1  # a closed pool: the count no longer decides anything
        pool, _created = _registry_pool_locked(path, None, None)
        pool._holders += 1
        cell[0] = pool
        return pool


def close_all_pools() -> None:
    """Close every registered pool (later :func:`get_connection_pool` calls open new ones).

    Stores keep working: their :class:`PoolHandle` fetches a new pool on next use.
    """
    with _registry():
        pools = list(_pools.values())
    for pool in pools:
        pool.close()


def all_pool_stats() -> list[PoolStats]:
    """A snapshot of every registered pool, sorted by path."""
    with _registry():
        pools = sorted(_pools.values(), key=lambda p: p.db_path)
    return [pool.stats() for pool in pools]


def _release_held(cell: list[SQLiteConnectionPool | None]) -> None:
    """A handle's finalizer (also run by :meth:`PoolHandle.close`): let its pool go.

    It never waits for ``_pools_lock``: run by the garbage collector, it may interrupt a
    thread that holds it (which then lets the pool go as soon as it releases the lock).
    """
    _released.append(cell)
    _drain_released()


class PoolHandle:
    """One store's hold on the registry pool of its file: reopens, and releases when done.

    Creating it makes the file's directory (mode 0700 when it is created here) and takes a
    hold on the registry pool. :meth:`get` is a lock-free attribute read on the fast path;
    when the pool it holds has been closed (:func:`close_all_pools`, or :meth:`close`) it
    takes a hold on the registry's current pool instead, so a store is never broken by a
    close. :meth:`close`, or the handle being garbage-collected, lets the pool go: the last
    holder of a pool that :func:`get_connection_pool` has not pinned closes it.

    Args:
        db_path: the database file (``~`` expanded).

    Raises:
        DatabaseFileError: the file's directory cannot be created; the message names the
            file.
        ValueError: ``db_path`` is ``:memory:`` or another name that cannot be pooled.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        path = Path(db_path).expanduser()
        try:
            ensure_private_dir(path.parent)
        except OSError as exc:
            raise DatabaseFileError(f"cannot create the directory for {path}: {exc}") from exc
        self.db_path: Path = Path(normalize_db_path(path))
        """The normalised path (``~`` expanded, absolute, symlinks resolved)."""
        self._key = os.fspath(self.db_path)
        # _cell[0] is the pool this handle holds (None once closed). It is swapped under
        # _pools_lock, and read without a lock on the fast path of get(). The finalizer gets
        # the cell, not the handle, so it can run after the handle is gone.
        self._cell: list[SQLiteConnectionPool | None] = [None]
        _hold_again(self._cell, self._key)
        self._finalizer = weakref.finalize(self, _release_held, self._cell)

    @property
    def closed(self) -> bool:
        """True when the pool last returned has been closed (:meth:`get` would fetch anew)."""
        pool = self._cell[0]
        return pool is None or pool.closed

    def get(self) -> SQLiteConnectionPool:
        """The open registry pool for :attr:`db_path` (held anew after any close)."""
        pool = self._cell[0]
        if pool is None or pool.closed:
            return _hold_again(self._cell, self._key)
        return pool

    def get_connection(self) -> AbstractContextManager[sqlite3.Connection]:
        """:meth:`SQLiteConnectionPool.get_connection` on the open pool.

        A pool closed between this call and the checkout is replaced by the open one, so a
        close never fails a store's call.
        """
        return _Checkout(self.get(), immediate=False, reopen=self.get)

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """:meth:`SQLiteConnectionPool.transaction` on the open pool (replaced as above)."""
        return _Checkout(self.get(), immediate=True, reopen=self.get)

    def fetch_one(self, sql: str, parameters: Any = (), /) -> Any:
        """:meth:`SQLiteConnectionPool.fetch_one` on the open pool (replaced as above)."""
        try:
            return self.get().fetch_one(sql, parameters)
        except PoolClosedError:  # raised by the checkout, before the statement ran
            return self.get().fetch_one(sql, parameters)

    def close(self) -> None:
        """Let the pool go now (the last holder closes it); :meth:`get` would hold it again."""
        _release_held(self._cell)

    def __repr__(self) -> str:
        return f"<PoolHandle {self.db_path}>"


def _after_fork_in_child() -> None:
    """In a forked child: new registry locks, and every pool forgets the parent's connections."""
    global _pools_lock, _every_pool_lock  # noqa: PLW0603 - a lock held at fork time is lost
    _pools_lock = threading.Lock()
    _every_pool_lock = threading.Lock()
    for pool in list(_every_pool):
        pool._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)  # POSIX; Cortex is Linux-only
