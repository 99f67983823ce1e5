"""The SQLite pool: one regression test per upstream defect, and concurrency with exact counts.

Each concurrency check runs twice: on the pool (it must hold) and on an unsafe twin from
:mod:`cortex.demos.sqlite` (the same check must fail), so a test that could pass
vacuously would show up here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from cortex.demos import sqlite as demo
from cortex.demos.harness import run_together
from cortex.utils import db_pool
from cortex.utils.db_pool import (
    DatabaseFileError,
    PoolClosedError,
    PoolConfigError,
    PooledConnection,
    PoolHandle,
    PoolMisuseError,
    PoolTimeoutError,
    SQLiteConnectionPool,
    all_pool_stats,
    close_all_pools,
    get_connection_pool,
    normalize_db_path,
)

pytestmark = pytest.mark.thread_unsafe(
    reason=(
        "the tests share one pool through a fixture and assert its exact counters; "
        "they release their own threads where concurrency is the point"
    )
)


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    close_all_pools()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "test.db"
    demo.prepare_database(path)
    return path


@pytest.fixture
def pool(db: Path) -> Iterator[SQLiteConnectionPool]:
    pool = SQLiteConnectionPool(db, pool_size=3, timeout=2.0)
    yield pool
    pool.close()


def _raw_count(path: Path) -> int:
    return demo.count_rows(path)[0]


def _insert(conn: sqlite3.Connection, worker: int = 0, seq: int = 0) -> None:
    conn.execute("INSERT INTO items (worker, seq) VALUES (?, ?)", (worker, seq))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- commits really happen ---------------------------------------------------------------


def test_a_write_is_visible_from_another_connection(pool: SQLiteConnectionPool, db: Path) -> None:
    with pool.get_connection() as conn:
        _insert(conn)
    assert _raw_count(db) == 1
    assert pool.stats().in_use == 0


@pytest.mark.twin
def test_the_same_check_catches_upstreams_lost_commit(db: Path) -> None:
    leaky = demo.LeakyPool(db, pool_size=2, timeout=0.05)
    try:
        with leaky.get_connection() as conn:
            _insert(conn)
        assert _raw_count(db) == 0  # the write is still in an open transaction
    finally:
        leaky.close_all()
    assert _raw_count(db) == 0  # and closing threw it away


# -- use after return, and from another thread ------------------------------------------


def test_the_pool_is_a_context_manager_that_closes_it(db: Path) -> None:
    with SQLiteConnectionPool(db, pool_size=2) as pool, pool.get_connection() as conn:
        _insert(conn)
    assert pool.stats().closed
    with pytest.raises(PoolClosedError), pool.get_connection():
        pass
    assert _raw_count(db) == 1


def test_use_after_return_raises(pool: SQLiteConnectionPool) -> None:
    with pool.get_connection() as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT id FROM counter")
        pending = conn.execute("SELECT id FROM counter")
    for misuse in (
        lambda: conn.execute("SELECT 1"),
        conn.cursor,
        conn.commit,
        conn.rollback,
        lambda: cursor.execute("SELECT 1"),
        lambda: cursor.executemany("INSERT INTO items (seq) VALUES (?)", [(1,)]),
        lambda: cursor.executescript("SELECT 1;"),
        pending.fetchone,
        pending.fetchall,
        lambda: pending.fetchmany(1),
        lambda: next(iter(pending)),
    ):
        with pytest.raises(PoolMisuseError, match="outside its checkout"):
            misuse()


def test_use_from_another_thread_inside_the_block_raises(pool: SQLiteConnectionPool) -> None:
    errors: list[BaseException] = []
    with pool.get_connection() as conn:

        def other() -> None:
            try:
                conn.execute("SELECT 1")
            except PoolMisuseError as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        conn.execute("SELECT 1")  # the owner still can
    assert len(errors) == 1


@pytest.mark.twin
def test_upstreams_pool_lets_a_returned_connection_be_used(db: Path) -> None:
    """The twin: nothing stops use after return, so two threads can share a connection."""
    leaky = demo.LeakyPool(db, pool_size=1, timeout=0.05)
    try:
        with leaky.get_connection() as conn:
            pass
        conn.execute("SELECT 1")  # no error: the defect the pool's check catches
    finally:
        leaky.close_all()


# -- one pool per file ---------------------------------------------------------------------


def test_one_pool_whatever_the_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".cortex").mkdir(parents=True)
    real = home / ".cortex" / "x.db"
    link = tmp_path / "link.db"
    link.symlink_to(real)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home)
    spellings: list[str | Path] = [
        "~/.cortex/x.db",
        ".cortex/x.db",
        "./.cortex/../.cortex/x.db",
        str(real),
        real,
        str(link),
    ]
    pools = {id(get_connection_pool(s)) for s in spellings}
    assert len(pools) == 1
    assert normalize_db_path(link) == os.path.realpath(real)
    assert [s.path for s in all_pool_stats()] == [os.path.realpath(real)]


@pytest.mark.parametrize("name", [":memory:", "", "file::memory:?cache=shared"])
def test_memory_databases_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cannot pool"):
        get_connection_pool(name)
    with pytest.raises(ValueError, match="cannot pool"):
        SQLiteConnectionPool(name)


def test_conflicting_settings_are_refused(db: Path) -> None:
    first = get_connection_pool(db, pool_size=2, timeout=1.0)
    assert get_connection_pool(db) is first
    assert get_connection_pool(db, pool_size=2, timeout=1.0) is first
    with pytest.raises(PoolConfigError, match="pool_size=4"):
        get_connection_pool(db, pool_size=4)
    with pytest.raises(PoolConfigError, match="timeout=9"):
        get_connection_pool(db, timeout=9)


def test_new_pools_take_their_size_from_the_setting(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORTEX_DB_POOL_SIZE", "7")
    assert get_connection_pool(db).pool_size == 7


def test_bad_arguments(db: Path) -> None:
    with pytest.raises(ValueError, match="pool_size"):
        SQLiteConnectionPool(db, pool_size=0)
    with pytest.raises(ValueError, match="timeout"):
        SQLiteConnectionPool(db, timeout=0)


# -- close ---------------------------------------------------------------------------------


def test_close_refuses_checkouts_and_closes_returned_connections(db: Path) -> None:
    pool = get_connection_pool(db, pool_size=2)
    with pool.get_connection() as held:
        with pool.get_connection() as idle:
            pass
        assert idle is not held
        pool.close()
        assert pool.closed
        assert pool.stats().opened == 1  # the idle one is closed already
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            _ = idle.in_transaction  # closed, not merely returned
        _insert(held)  # the borrower may finish its block
    assert pool.stats().opened == 0
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        _ = held.in_transaction
    assert _raw_count(db) == 1  # its block still committed
    with pytest.raises(PoolClosedError, match="closed"), pool.get_connection():
        pass
    pool.close()  # twice is harmless
    assert get_connection_pool(db) is not pool  # the registry opens a fresh one


def test_close_wakes_waiting_threads(db: Path) -> None:
    pool = SQLiteConnectionPool(db, pool_size=1, timeout=5.0)
    outcome: list[str] = []

    def waiter() -> None:
        try:
            with pool.get_connection():
                outcome.append("got one")
        except PoolClosedError:
            outcome.append("closed")

    with pool.get_connection():
        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.1)
        started = time.monotonic()
        pool.close()
    thread.join(5)
    assert outcome == ["closed"]
    assert time.monotonic() - started < 10  # generous: it must not wait for the holder


def test_close_all_pools(db: Path, tmp_path: Path) -> None:
    pools = [get_connection_pool(db), get_connection_pool(tmp_path / "other.db")]
    for pool in pools:
        with pool.get_connection() as conn:
            conn.execute("SELECT 1")
    close_all_pools()
    assert all(pool.closed for pool in pools)
    assert all_pool_stats() == []


# -- PoolHandle: a store's pool --------------------------------------------------------------


def test_a_pool_handle_creates_a_private_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    handle = PoolHandle("~/.cortex/store/x.db")
    directory = tmp_path / ".cortex" / "store"
    assert directory.is_dir()
    assert directory.stat().st_mode & 0o777 == 0o700
    assert handle.db_path == Path(normalize_db_path(directory / "x.db"))
    assert handle.get() is get_connection_pool(directory / "x.db")


def test_a_pool_handle_fetches_the_new_pool_after_close_all_pools(db: Path) -> None:
    handle = PoolHandle(db)
    first = handle.get()
    assert handle.get() is first
    assert not handle.closed
    close_all_pools()
    assert first.closed
    closed_before_get = handle.closed
    second = handle.get()
    assert (closed_before_get, handle.closed, second.closed) == (True, False, False)
    assert second is not first
    assert second is get_connection_pool(db)
    with second.get_connection() as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (0,)


def test_a_pool_handle_names_the_path_when_the_parent_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    path = blocker / "x.db"
    with pytest.raises(DatabaseFileError, match="cannot create the directory") as info:
        PoolHandle(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert all_pool_stats() == []


def test_the_last_handle_let_go_closes_the_pool(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    first, second = PoolHandle(path), PoolHandle(path)
    pool = first.get()
    assert second.get() is pool
    with pool.get_connection() as conn:
        conn.execute("CREATE TABLE t (a)")
    first.close()
    assert not pool.closed  # the second handle still holds it
    del second  # garbage-collected handles let go too
    assert pool.stats().closed
    assert all_pool_stats() == []
    assert first.get() is not pool  # a closed handle holds a pool again when used
    first.close()


def test_a_pool_from_get_connection_pool_is_pinned(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    handle = PoolHandle(path)
    pinned = get_connection_pool(path)  # upstream's API: the caller may keep it
    assert handle.get() is pinned
    handle.close()
    assert not pinned.closed
    with pinned.get_connection() as conn:
        conn.execute("SELECT 1")


def test_fetch_one_commits_rolls_back_and_returns_the_connection(db: Path) -> None:
    pool = get_connection_pool(db)
    assert pool.fetch_one("SELECT count(*) FROM items") == (0,)
    assert pool.fetch_one("INSERT INTO items (payload) VALUES ('x')") is None  # committed
    with pytest.raises(sqlite3.OperationalError):
        pool.fetch_one("INSERT INTO no_such_table VALUES (1)")
    assert pool.fetch_one("SELECT count(*) FROM items") == (1,)
    stats = pool.stats()
    assert (stats.in_use, stats.rollbacks) == (0, 1)


# -- rollback on every path ----------------------------------------------------------------


def test_an_exception_in_the_block_rolls_back(pool: SQLiteConnectionPool, db: Path) -> None:
    def fail_in_block() -> None:
        with pool.get_connection() as conn:
            _insert(conn)
            raise RuntimeError("boom")

    def interrupt_in_transaction() -> None:
        with pool.transaction() as conn:
            _insert(conn)
            raise KeyboardInterrupt

    with pytest.raises(RuntimeError, match="boom"):
        fail_in_block()
    assert _raw_count(db) == 0
    with pytest.raises(KeyboardInterrupt):
        interrupt_in_transaction()
    assert _raw_count(db) == 0
    assert pool.stats().rollbacks == 2
    with pool.get_connection() as conn:  # the connection is clean again
        assert not conn.in_transaction
        _insert(conn)
    assert _raw_count(db) == 1


def test_an_exception_inside_commit_rolls_back(tmp_path: Path) -> None:
    """A deferred foreign key fails at COMMIT, leaving the transaction open."""
    path = tmp_path / "fk.db"
    raw = sqlite3.connect(path)
    raw.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER"
        " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);"
    )
    raw.close()
    pool = SQLiteConnectionPool(path, pool_size=1)
    try:

        def orphan() -> None:
            with pool.get_connection() as conn:
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("INSERT INTO child (id, parent) VALUES (1, 42)")

        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            orphan()  # raised by the COMMIT at the end of the block
        stats = pool.stats()
        assert stats.rollbacks == 1
        assert stats.opened == 1  # rolled back cleanly: kept
        with pool.get_connection() as conn:
            assert not conn.in_transaction
            assert conn.execute("SELECT count(*) FROM child").fetchone() == (0,)
            conn.execute("INSERT INTO parent (id) VALUES (1)")  # the write lock is free
    finally:
        pool.close()


def test_a_failing_commit_is_rolled_back(
    pool: SQLiteConnectionPool, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_commit(self: PooledConnection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(PooledConnection, "commit", failing_commit)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"), pool.get_connection() as conn:
        _insert(conn)
    monkeypatch.undo()
    assert _raw_count(db) == 0
    assert pool.stats().rollbacks == 1
    with pool.get_connection() as conn:
        _insert(conn)
    assert _raw_count(db) == 1


def test_a_connection_closed_inside_its_block_is_discarded(pool: SQLiteConnectionPool) -> None:
    with pytest.raises(sqlite3.ProgrammingError, match="closed"), pool.get_connection() as conn:
        conn.close()  # nothing can be committed any more: an error, and the pool drops it
    assert pool.stats().opened == 0
    with pool.get_connection() as fresh:
        assert fresh is not conn
        fresh.execute("SELECT 1")


def test_connection_state_is_reset_before_reuse(db: Path) -> None:
    pool = SQLiteConnectionPool(db, pool_size=1)
    try:
        with pool.get_connection() as conn:
            conn.row_factory = sqlite3.Row
            conn.text_factory = bytes
            conn.isolation_level = None
        with pool.get_connection() as again:
            assert again is conn  # pool_size=1: the same connection
            assert again.row_factory is None
            assert again.text_factory is str
            assert again.isolation_level == "IMMEDIATE"
            assert again.execute("SELECT 'x'").fetchone() == ("x",)
    finally:
        pool.close()


def test_transaction_takes_the_write_lock_up_front(pool: SQLiteConnectionPool, db: Path) -> None:
    with pool.transaction() as conn:
        assert conn.in_transaction
        other = sqlite3.connect(db, timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


# -- WAL, busy retries, timeouts -------------------------------------------------------------


def test_wal_is_verified(pool: SQLiteConnectionPool, db: Path) -> None:
    with pool.get_connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (2000,)
    assert pool.stats().journal_mode == "wal"


def test_a_refused_wal_is_logged_once(
    db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = PooledConnection.pragma

    def no_wal(self: PooledConnection, statement: str) -> str:
        if statement == "journal_mode=WAL":
            return "delete"  # what a filesystem without shared memory answers
        return original(self, statement)

    monkeypatch.setattr(PooledConnection, "pragma", no_wal)
    pool = SQLiteConnectionPool(db, pool_size=2)
    try:
        with (
            caplog.at_level(logging.WARNING, logger="cortex.utils.db_pool"),
            pool.get_connection(),
            pool.get_connection(),
        ):
            pass  # two connections opened
        assert pool.stats().journal_mode == "delete"
        warnings_logged = [r for r in caplog.records if "refused WAL" in r.getMessage()]
        assert len(warnings_logged) == 1
    finally:
        pool.close()


def _hold_write_lock(db: Path, seconds: float) -> threading.Thread:
    holder = sqlite3.connect(db, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO items (worker, seq) VALUES (-2, 0)")

    def release() -> None:
        time.sleep(seconds)
        holder.commit()
        holder.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_busy_retries_are_counted(db: Path) -> None:
    pool = SQLiteConnectionPool(db, pool_size=1, timeout=0.05)
    try:
        holder = _hold_write_lock(db, 0.25)
        with pool.transaction() as conn:
            _insert(conn)
        holder.join()
        assert pool.stats().busy_retries >= 1
        assert _raw_count(db) == 2
    finally:
        pool.close()


def test_busy_retries_give_up(db: Path) -> None:
    pool = SQLiteConnectionPool(db, pool_size=1, timeout=0.02)
    holder = _hold_write_lock(db, 0.8)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"), pool.transaction():
            pass
        assert pool.stats().busy_retries == db_pool._BUSY_RETRIES
    finally:
        holder.join()
        pool.close()


def test_checkout_timeouts_and_waits_are_counted(db: Path) -> None:
    pool = SQLiteConnectionPool(db, pool_size=1, timeout=0.05)
    try:
        failures: list[BaseException] = []
        with pool.get_connection():

            def other() -> None:
                try:
                    with pool.get_connection():
                        pass
                except PoolTimeoutError as exc:
                    failures.append(exc)

            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
        stats = pool.stats()
        assert len(failures) == 1
        assert "CORTEX_DB_POOL_SIZE" in str(failures[0])
        assert stats.timeouts == 1
        assert stats.checkouts == 1
        assert stats.in_use == 0
    finally:
        pool.close()


def test_connections_open_lazily_and_stay_bounded(db: Path) -> None:
    pool = SQLiteConnectionPool(db, pool_size=3, timeout=10.0)
    try:
        assert pool.stats().opened == 0
        in_use: list[int] = []

        def work(_i: int) -> None:
            for _ in range(5):
                with pool.get_connection() as conn:
                    in_use.append(pool.stats().in_use)
                    conn.execute("SELECT count(*) FROM items").fetchone()

        run_together(work, 32)
        stats = pool.stats()
        assert stats.checkouts == 160
        assert max(in_use) <= 3
        assert stats.opened <= 3
        assert stats.in_use == 0
        assert stats.wait_max_s >= 0
        assert stats.wait_total_s >= stats.wait_max_s
    finally:
        pool.close()


# -- fork --------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_never_touches_the_parents_connections(db: Path) -> None:
    pool = get_connection_pool(db, pool_size=2)
    with pool.get_connection() as conn1, pool.get_connection() as conn2:
        _insert(conn1, worker=1)
        parent_ids = {id(conn1), id(conn2)}
    read_fd, write_fd = os.pipe()
    with pool.get_connection() as held, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        pid = os.fork()
        if pid == 0:  # the child: report, then leave without running any cleanup
            code = 1
            try:
                try:
                    held.execute("SELECT 1")
                    misuse = "allowed"
                except PoolMisuseError:
                    misuse = "misuse"
                child_pool = get_connection_pool(db)
                with child_pool.get_connection() as mine:
                    _insert(mine, worker=2)
                    ids = str(id(mine))
                os.write(write_fd, f"{misuse} {ids} {child_pool.stats().opened}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        _, status = os.waitpid(pid, 0)
        report = os.read(read_fd, 1000).decode().split()
        os.close(read_fd)
        held.execute("SELECT 1")  # the parent's connection still works
    assert os.waitstatus_to_exitcode(status) == 0
    misuse, child_id, child_opened = report
    assert misuse == "misuse"
    assert int(child_id) not in parent_ids | {id(held)}
    assert child_opened == "1"
    assert _raw_count(db) == 2
    with pool.get_connection() as conn:  # and the parent's pool is intact
        _insert(conn)
    assert pool.stats().opened == 2


# -- bad files -------------------------------------------------------------------------


def _corrupt_variants(tmp_path: Path) -> dict[str, bytes]:
    good = tmp_path / "good.db"
    raw = sqlite3.connect(good)
    raw.execute("CREATE TABLE t (x)")
    raw.executemany("INSERT INTO t VALUES (?)", [(str(i) * 20,) for i in range(2000)])
    raw.commit()
    raw.close()
    data = good.read_bytes()
    noise = bytes(range(256)) * 64
    return {
        "text": b"this is a shopping list, not a database\n" * 20,
        "header": b"SQLite format 3\x00" + noise[:84] + data[100:],
        "page1": data[:100] + noise[: 4096 - 100] + data[4096:],
        "page2": data[:4096] + noise[:4096] + data[8192:],
        "truncated": data[:5000],
    }


def test_corrupt_files_raise_and_stay_untouched(tmp_path: Path) -> None:
    for name, content in _corrupt_variants(tmp_path).items():
        path = tmp_path / f"{name}.db"
        path.write_bytes(content)
        before = _sha256(path)
        pool = SQLiteConnectionPool(path)
        try:
            with pytest.raises(DatabaseFileError, match=str(path)), pool.get_connection():
                pass
            assert pool.stats().opened == 0
        finally:
            pool.close()
        assert _sha256(path) == before, name


@pytest.mark.twin
def test_upstreams_eager_wal_switch_rewrites_a_damaged_file(tmp_path: Path) -> None:
    """The twin: switching to WAL without a check changes the damaged file's bytes."""
    path = tmp_path / "page2.db"
    path.write_bytes(_corrupt_variants(tmp_path)["page2"])
    before = _sha256(path)
    leaky = demo.LeakyPool(path, pool_size=1)
    leaky.close_all()
    assert _sha256(path) != before


@pytest.mark.parametrize("where", ["parent is a file", "parent is missing"])
def test_an_unusable_directory_is_a_clear_error(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    path = blocker / "x.db" if where == "parent is a file" else tmp_path / "nope" / "x.db"
    pool = SQLiteConnectionPool(path)
    try:
        with pytest.raises(DatabaseFileError, match="cannot open") as info, pool.get_connection():
            pass
        assert str(path) in str(info.value)
        assert pool.stats().opened == 0
        assert pool.stats().checkouts == 0
    finally:
        pool.close()


# -- many threads, many processes --------------------------------------------------------


@pytest.mark.stress
@pytest.mark.parametrize(
    ("kind", "holds"),
    [("pool", True), ("percall", True), ("leaky", False), ("shared", False)],
)
def test_32_threads_mixed_reads_and_writes(tmp_path: Path, kind: str, holds: bool) -> None:
    """Exact counts on the pool (and per-call connections); the unsafe twins fail."""
    path = tmp_path / f"{kind}.db"
    if kind == "shared":  # it can crash the sqlite3 wrapper: run it in a child process
        outcome = demo.mixed_workload_isolated(kind, path, threads=32, iterations=5)
    else:
        demo.prepare_database(path)
        source = demo.make_source(kind, path, timeout=0.05 if kind == "leaky" else 10.0)
        try:
            outcome = demo.mixed_workload(source.get_connection, path, threads=32, iterations=5)
        finally:
            source.close_all()
    assert outcome.safe is holds, outcome
    if holds:
        assert (outcome.rows, outcome.counter, outcome.errors) == (160, 160, 0)


@pytest.mark.stress
@pytest.mark.thread_unsafe(reason="counts the checkouts of the one registry pool for a file")
def test_the_registry_pool_from_100_threads(db: Path) -> None:
    outcome = demo.mixed_workload(
        lambda: get_connection_pool(db).get_connection(), db, threads=100, iterations=3
    )
    assert outcome.safe, outcome
    stats = get_connection_pool(db).stats()
    assert stats.checkouts == 600
    assert stats.opened <= stats.size


@pytest.mark.stress
@pytest.mark.parametrize(("kind", "holds"), [("pool", True), ("leaky", False)])
def test_several_processes_write_with_nothing_lost(tmp_path: Path, kind: str, holds: bool) -> None:
    rows, failures = demo.write_rows_in_processes(
        kind, tmp_path / f"{kind}.db", processes=4, rows_each=40
    )
    assert (rows == 160 and failures == 0) is holds, (rows, failures)


def test_a_handle_collected_while_its_thread_holds_the_registry_lock_does_not_deadlock(
    tmp_path: Path,
) -> None:
    """A finalizer can run at any allocation, also in a thread inside the registry's lock
    (seen: ``load_settings`` allocating under it collected a store): it must not wait."""
    import gc

    from cortex.utils import db_pool
    from cortex.utils.db_pool import PoolHandle

    handle = PoolHandle(tmp_path / "collected.db")
    pool = handle.get()
    outcome: list[str] = []

    def drop_inside_the_lock() -> None:
        nonlocal handle
        with db_pool._registry():
            del handle
            gc.collect()  # the finalizer runs here, in the thread that holds the lock
            outcome.append("finalizer returned")

    worker = threading.Thread(target=drop_inside_the_lock, daemon=True)
    worker.start()
    worker.join(30)
    assert outcome == ["finalizer returned"], "deadlock: the finalizer waited for the lock"
    assert pool.closed  # released as soon as the lock was let go: it had no other holder
