"""SQLite pool: before (connections returned without a commit) and after (commit or rollback).

Standalone, standard library only: copy the ``after`` half into your module (or use
``cortex.utils.db_pool``, which adds path normalisation, ownership checks, metrics and fork
safety). Run it to see 16 threads each commit 10 writes through both pools::

    python examples/sqlite_before_after.py

Before: the writes stay in transactions left open on pooled connections, so another
connection sees none of them, the other writers time out on the write lock, and closing
the pool throws everything away. After: every write is visible from a fresh connection.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

THREADS = 16
WRITES = 10


# ---- before: the pattern the audit found ---------------------------------------------------
class UnsafePool:
    def __init__(self, path: Path, size: int = 4, timeout: float = 0.05) -> None:
        self._idle: queue.Queue[sqlite3.Connection] = queue.Queue()
        self._all = [
            sqlite3.connect(path, timeout=timeout, check_same_thread=False) for _ in range(size)
        ]
        for conn in self._all:
            self._idle.put(conn)

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._idle.get()
        try:
            yield conn
        finally:
            self._idle.put(conn)  # back in the queue with its transaction still open

    def close(self) -> None:
        for conn in self._all:
            conn.close()  # an open transaction is rolled back: the writes are gone


# ---- after: commit on success, roll back on any exception, then return ---------------------
class Pool:
    def __init__(self, path: Path, size: int = 4, timeout: float = 5.0) -> None:
        self._idle: queue.Queue[sqlite3.Connection] = queue.Queue()  # thread-safe itself
        self._all: list[sqlite3.Connection] = []
        for _ in range(size):
            conn = sqlite3.connect(
                path, timeout=timeout, isolation_level="IMMEDIATE", check_same_thread=False
            )
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                print(f"note: {path} refused WAL (journal_mode={mode})")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._all.append(conn)
            self._idle.put(conn)

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._idle.get()  # one thread at a time per connection
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        else:
            try:
                conn.commit()
            except BaseException:
                conn.rollback()  # a failed COMMIT can leave the transaction open
                raise
        finally:
            conn.row_factory = None  # reset per-connection state for the next borrower
            self._idle.put(conn)

    def close(self) -> None:
        for conn in self._all:
            conn.close()


def committed_writes(
    make_pool: Callable[[Path], UnsafePool | Pool], folder: Path, name: str
) -> tuple[int, int]:
    """16 threads write 10 rows each; return (rows another connection sees, errors)."""
    path = folder / f"{name}.db"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE items (worker INTEGER, seq INTEGER)")
    setup.commit()
    setup.close()
    pool = make_pool(path)
    get: Callable[[], AbstractContextManager[sqlite3.Connection]] = pool.connection
    errors: list[str] = []  # list.append is atomic
    barrier = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        barrier.wait()
        for seq in range(WRITES):
            try:
                with get() as conn:
                    conn.execute("INSERT INTO items VALUES (?, ?)", (index, seq))
            except sqlite3.Error as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader = sqlite3.connect(path)
    (seen,) = reader.execute("SELECT count(*) FROM items").fetchone()
    reader.close()
    pool.close()
    return seen, len(errors)


if __name__ == "__main__":
    expected = THREADS * WRITES
    with tempfile.TemporaryDirectory() as tmp:
        before, before_errors = committed_writes(UnsafePool, Path(tmp), "before")
        after, after_errors = committed_writes(Pool, Path(tmp), "after")
    print(f"before: {before} of {expected} writes visible, {before_errors} writes failed")
    print(f"after:  {after} of {expected} writes visible, {after_errors} writes failed")
    raise SystemExit(0 if before < expected and after == expected and after_errors == 0 else 1)
