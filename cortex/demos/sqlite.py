"""SQLite races: upstream's connection handling beside the pool that fixes it.

Three unsafe or slow twins share one call shape with
:meth:`cortex.utils.db_pool.SQLiteConnectionPool.get_connection` (a context manager that
hands out a :class:`sqlite3.Connection`), so the same workload runs against each of them:

* :class:`LeakyPool` -- upstream's pool: a queue of eagerly opened connections handed back
  **without a commit or a rollback**. Writes stay in an open transaction on a connection
  that goes back to the queue; other connections never see them and wait on the write lock
  it keeps; closing it throws them away (lost commits).
* :class:`SharedConnection` -- one connection opened with ``check_same_thread=False`` and
  used by every thread without a lock. Each thread's block looks right on its own, but the
  transactions of different threads interleave on the one connection: "cannot start a
  transaction within a transaction", one thread's rollback undoing another's writes, one
  thread's commit publishing another's half-done work. Sharing a connection between threads
  can also misbehave inside the ``sqlite3`` wrapper itself (on GIL builds of 3.12 and 3.13,
  wrong rows or ``InterfaceError``: cpython#118172), so the notebook and the tests run this
  twin in a child process (:func:`mixed_workload_isolated`).
* :class:`PerCallConnections` -- a new connection for every block. Correct (SQLite and the
  busy timeout coordinate separate connections), but it pays for ``connect`` every time.

The workloads count exactly what should be in the database and what is, so a lost commit
or a shared transaction shows as a wrong number, not as a flaky timing.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Protocol

from cortex.demos.harness import run_together
from cortex.demos.ledger import LEDGER, area_for
from cortex.utils.db_pool import SQLiteConnectionPool, close_all_pools, get_connection_pool

__all__ = [
    "ConnectionLease",
    "ConnectionSource",
    "LeakyPool",
    "PerCallConnections",
    "SharedConnection",
    "WorkloadOutcome",
    "count_rows",
    "make_source",
    "mixed_workload",
    "mixed_workload_isolated",
    "prepare_database",
    "read_throughput",
    "write_rows",
    "write_rows_in_processes",
]


class ConnectionLease(Protocol):
    """What a ``get_connection()`` call returns: a context manager lending a connection."""

    def __enter__(self) -> sqlite3.Connection: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> bool | None: ...


ConnectionSource = Callable[[], ConnectionLease]
"""A ``get_connection`` method: the pool's
(:meth:`~cortex.utils.db_pool.SQLiteConnectionPool.get_connection`) or a twin's."""

KINDS = ("pool", "leaky", "shared", "percall")


class LeakyPool:
    """Upstream's pool: the unsafe twin. Connections go back without commit or rollback.

    Args:
        db_path: the database file.
        pool_size: connections opened up front.
        timeout: seconds to wait for a connection, and the busy timeout.
    """

    def __init__(
        self, db_path: str | os.PathLike[str], pool_size: int = 5, timeout: float = 5.0
    ) -> None:
        self.timeout = timeout
        self._queue: queue.Queue[sqlite3.Connection] = queue.Queue()  # thread-safe itself
        self._all: list[sqlite3.Connection] = []
        for _ in range(pool_size):
            conn = sqlite3.connect(str(db_path), timeout=timeout, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            self._all.append(conn)
            self._queue.put(conn)

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[sqlite3.Connection]:
        """Lend a connection; it goes back as it is, open transaction included."""
        conn = self._queue.get(timeout=self.timeout)
        try:
            yield conn
        finally:
            self._queue.put(conn)  # the defect: no commit, no rollback

    def close_all(self) -> None:
        """Close every connection (an open transaction is rolled back: its rows are lost)."""
        for conn in self._all:
            conn.close()


class SharedConnection:
    """One connection for every thread, no lock: the unsafe twin.

    Each block commits when it ends and rolls back when it raises, exactly like the pool,
    so the only defect is the sharing.
    """

    def __init__(self, db_path: str | os.PathLike[str], timeout: float = 5.0) -> None:
        self._conn = sqlite3.connect(str(db_path), timeout=timeout, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[sqlite3.Connection]:
        """Lend the one shared connection."""
        try:
            yield self._conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.rollback()  # may undo another thread's work
            raise
        self._conn.commit()  # may commit another thread's half-done work

    def close_all(self) -> None:
        """Close the shared connection."""
        self._conn.close()


class PerCallConnections:
    """A fresh connection per block: safe (separate connections) but slow (``connect``)."""

    def __init__(self, db_path: str | os.PathLike[str], timeout: float = 5.0) -> None:
        self.db_path = str(db_path)
        self.timeout = timeout

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[sqlite3.Connection]:
        """Open a connection, lend it, commit or roll back, close it."""
        conn = sqlite3.connect(self.db_path, timeout=self.timeout)
        try:
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.close()

    def close_all(self) -> None:
        """Nothing stays open."""


def make_source(
    kind: str, db_path: str | os.PathLike[str], *, pool_size: int = 5, timeout: float = 5.0
) -> LeakyPool | SharedConnection | PerCallConnections | SQLiteConnectionPool:
    """Build one of ``pool``, ``leaky``, ``shared`` or ``percall`` for ``db_path``.

    The ``pool`` is a private :class:`~cortex.utils.db_pool.SQLiteConnectionPool` (not the
    registry's), so its statistics belong to this run only. Close it with ``close_all()``.
    """
    if kind == "pool":
        return SQLiteConnectionPool(db_path, pool_size=pool_size, timeout=timeout)
    if kind == "leaky":
        return LeakyPool(db_path, pool_size=pool_size, timeout=timeout)
    if kind == "shared":
        return SharedConnection(db_path, timeout=timeout)
    if kind == "percall":
        return PerCallConnections(db_path, timeout=timeout)
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


# -- workloads ----------------------------------------------------------------------------


def prepare_database(db_path: str | os.PathLike[str], *, rows: int = 0) -> None:
    """Create (or empty) the demo tables; ``rows`` numbered rows go into ``items``."""
    conn = sqlite3.connect(str(db_path))
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS items (
                id INTEGER PRIMARY KEY, worker INTEGER, seq INTEGER, payload TEXT);
            CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
            DELETE FROM items;
            DELETE FROM counter;
            INSERT INTO counter (id, n) VALUES (1, 0);
            """
        )
        conn.executemany(
            "INSERT INTO items (id, worker, seq, payload) VALUES (?, -1, ?, ?)",
            [(i + 1, i, f"row {i}") for i in range(rows)],
        )
        conn.commit()
    finally:
        conn.close()


def count_rows(db_path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(rows in items, counter value)`` read through a fresh connection (committed data)."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        (rows,) = conn.execute("SELECT count(*) FROM items").fetchone()
        row = conn.execute("SELECT n FROM counter WHERE id = 1").fetchone()
        return int(rows), int(row[0]) if row else 0
    finally:
        conn.close()


@dataclass(frozen=True)
class WorkloadOutcome:
    """What a mixed read/write workload left behind, against what it should have."""

    expected: int
    """Writes that should be in the database (threads x iterations)."""
    rows: int
    """Rows found afterwards through a fresh connection."""
    counter: int
    """The read-modify-write counter found afterwards."""
    errors: int
    """Operations that raised."""
    bad_reads: int
    """Reads that did not see the thread's own committed writes."""
    error_types: list[str] = field(default_factory=list)
    crashed: bool = False
    """The process running the workload died (only :func:`mixed_workload_isolated`)."""

    @property
    def safe(self) -> bool:
        """True when nothing was lost, duplicated or misread, and nothing raised."""
        return (
            not self.crashed
            and self.errors == 0
            and self.bad_reads == 0
            and self.rows == self.expected
            and self.counter == self.expected
        )


def mixed_workload(
    get_connection: ConnectionSource,
    db_path: str | os.PathLike[str],
    *,
    threads: int = 32,
    iterations: int = 10,
) -> WorkloadOutcome:
    """Release ``threads`` threads together; each does ``iterations`` writes and reads.

    A write is one transaction: ``BEGIN IMMEDIATE``, read the counter, write it back plus
    one, insert a row tagged with the thread. A read then counts the thread's own rows
    and must see exactly the writes it has committed so far. Errors are counted, not
    raised, so a twin's failures show up as numbers. The database must have been set up
    with :func:`prepare_database`.
    """
    errors: list[str] = []  # list.append is atomic: the threads only append

    def worker(index: int) -> int:
        bad = 0
        committed = 0
        for seq in range(iterations):
            try:
                with get_connection() as conn:
                    conn.execute("BEGIN IMMEDIATE")
                    (n,) = conn.execute("SELECT n FROM counter WHERE id = 1").fetchone()
                    conn.execute("UPDATE counter SET n = ? WHERE id = 1", (n + 1,))
                    conn.execute(
                        "INSERT INTO items (worker, seq, payload) VALUES (?, ?, ?)",
                        (index, seq, f"thread {index} write {seq}"),
                    )
                committed += 1
            except Exception as exc:  # counted: the outcome reports it
                errors.append(type(exc).__name__)
            try:
                with get_connection() as conn:
                    (seen,) = conn.execute(
                        "SELECT count(*) FROM items WHERE worker = ?", (index,)
                    ).fetchone()
                bad += seen != committed
            except Exception as exc:
                errors.append(type(exc).__name__)
        return bad

    bad_reads = run_together(worker, threads)
    rows, counter = count_rows(db_path)
    return WorkloadOutcome(
        expected=threads * iterations,
        rows=rows,
        counter=counter,
        errors=len(errors),
        bad_reads=sum(bad_reads),
        error_types=sorted(set(errors)),
    )


def _run_kind(kind: str, db_path: str, threads: int, iterations: int) -> WorkloadOutcome:
    source = make_source(kind, db_path, timeout=2.0)
    try:
        return mixed_workload(
            source.get_connection, db_path, threads=threads, iterations=iterations
        )
    finally:
        source.close_all()


def mixed_workload_isolated(
    kind: str, db_path: str | os.PathLike[str], *, threads: int = 32, iterations: int = 10
) -> WorkloadOutcome:
    """Run :func:`mixed_workload` on a fresh ``kind`` source in a child Python process.

    A crash of the child (the shared-connection twin can crash the ``sqlite3`` wrapper on
    free-threaded builds) gives an outcome with ``crashed=True`` instead of killing the
    caller. The database is prepared here.
    """
    prepare_database(db_path)
    completed = subprocess.run(
        [*_module_command(), "mixed", kind, str(db_path), str(threads), str(iterations)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        rows, counter = count_rows(db_path)
        return WorkloadOutcome(
            expected=threads * iterations,
            rows=rows,
            counter=counter,
            errors=0,
            bad_reads=0,
            error_types=[f"exit {completed.returncode}: {completed.stderr.strip()[-200:]}"],
            crashed=True,
        )
    data = json.loads(completed.stdout)
    return WorkloadOutcome(**data)


def write_rows(get_connection: ConnectionSource, worker: int, count: int) -> int:
    """Insert ``count`` rows tagged ``worker``, one transaction each; return how many raised."""
    failures = 0
    for seq in range(count):
        try:
            with get_connection() as conn:
                conn.execute(
                    "INSERT INTO items (worker, seq, payload) VALUES (?, ?, ?)",
                    (worker, seq, f"process {worker} write {seq}"),
                )
        except sqlite3.Error:
            failures += 1
    return failures


def read_throughput(
    get_connection: ConnectionSource, *, threads: int, total_reads: int, rows: int
) -> float:
    """Primary-key reads per second with ``threads`` threads sharing ``total_reads`` reads.

    The database must hold ``rows`` rows (:func:`prepare_database` with ``rows=``). Every
    read is one checkout, as a module method does it.
    """
    per_thread = max(1, total_reads // threads)

    def worker(index: int) -> int:
        found = 0
        for i in range(per_thread):
            key = (index * per_thread + i) % rows + 1
            with get_connection() as conn:
                found += (
                    conn.execute("SELECT seq FROM items WHERE id = ?", (key,)).fetchone()[0] >= 0
                )
        return found

    start = time.perf_counter()
    found = run_together(worker, threads)
    elapsed = time.perf_counter() - start
    if sum(found) != per_thread * threads:
        raise AssertionError("a read returned the wrong row")
    return per_thread * threads / elapsed


def write_rows_in_processes(
    kind: str, db_path: str | os.PathLike[str], *, processes: int = 4, rows_each: int = 50
) -> tuple[int, int]:
    """Start ``processes`` Python processes that each write ``rows_each`` rows at once.

    Each child builds its own ``kind`` source (``pool`` uses the registry's pool, as a
    Cortex process would) and calls :func:`write_rows`. Returns ``(rows found afterwards,
    failed writes reported)``; nothing lost means ``processes * rows_each`` rows. The
    database is prepared here.
    """
    prepare_database(db_path)
    timeout = "5.0" if kind in ("pool", "percall") else "0.02"
    children = [
        subprocess.Popen(
            [*_module_command(), "write", kind, str(db_path), str(worker), str(rows_each), timeout],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(processes)
    ]
    failures = 0
    for child in children:
        out, err = child.communicate(timeout=300)
        if child.returncode != 0:
            raise RuntimeError(f"writer process failed ({child.returncode}): {err[-500:]}")
        failures += int(out.strip() or 0)
    rows, _counter = count_rows(db_path)
    expected = processes * rows_each
    LEDGER.add(
        area_for("sqlite", fixed=kind in {"pool", "percall"}),
        processes=processes,
        operations=expected,
        data_lost=max(expected - rows, 0),  # measured: rows written but not in the file
    )
    return rows, failures


def _module_command() -> list[str]:
    return [sys.executable, "-m", "cortex.demos.sqlite"]


def _main(argv: list[str]) -> None:
    mode, kind, db_path, *rest = argv
    if mode == "mixed":
        threads, iterations = rest
        outcome = _run_kind(kind, db_path, int(threads), int(iterations))
        print(json.dumps(asdict(outcome)))
        return
    worker, count, timeout = rest
    if kind == "pool":
        pool = get_connection_pool(db_path, timeout=float(timeout))
        try:
            print(write_rows(pool.get_connection, int(worker), int(count)))
        finally:
            close_all_pools()
        return
    source = make_source(kind, db_path, timeout=float(timeout))
    try:
        print(write_rows(source.get_connection, int(worker), int(count)))
    finally:
        source.close_all()


if __name__ == "__main__":
    _main(sys.argv[1:])
