"""The store foundation (:mod:`cortex.utils.store`) under every SQLite store.

One regression test per defect found by hostile use (issue 11), each through the stores'
public API and each failing on the code before the foundation:

* ``close_all_pools()`` broke the histories for good (they held the pool object);
* six processes opening an upstream database at once raced on ``ALTER TABLE``;
* 150 stores on distinct files ran out of file descriptors at a limit of 256;
* a read-only, healthy database was called unusable ("move it aside");
* semantic-cache counts were lost (instance dropped), unseen (a second instance) or
  doubled (a forked child exiting normally).
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import stat
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cortex.context_memory import ContextMemory, MemoryEntry
from cortex.demos.harness import run_python_processes, run_together
from cortex.demos.ledger import LEDGER
from cortex.graceful_degradation import ResponseCache
from cortex.installation_history import InstallationHistory, InstallationType
from cortex.kernel_features.accelerator_limits import LimitsDatabase, ResourceLimits
from cortex.kernel_features.kv_cache_manager import CacheConfig, CacheDatabase
from cortex.runtime import SettingsError, load_settings
from cortex.semantic_cache import SemanticCache
from cortex.transaction_history import (
    PackageState,
    TransactionHistory,
    TransactionType,
    get_history,
)
from cortex.utils.db_pool import DatabaseReadOnlyError, all_pool_stats, close_all_pools
from cortex.utils.store import (
    StoreSchema,
    ensure_schema,
    format_time,
    parse_time,
    resolve_db_path,
    schema_version,
)

pytestmark = pytest.mark.thread_unsafe(reason="closes every pool and sets CORTEX_DATA_DIR")

AREA = "sqlite"


class _Probe:
    def state(self, package: str) -> PackageState:
        return PackageState(name=package, version="1.0", installed=True)


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    close_all_pools()


# -- one store of each kind, and what "use" means for it ----------------------------------

_Use = Callable[[Any], object]
_STORES: dict[str, tuple[Callable[[Path], Any], _Use]] = {
    "transaction_history": (
        lambda d: TransactionHistory(d / "t.db", probe=_Probe()),
        lambda s: s.begin_transaction(TransactionType.INSTALL, ["nginx"]),
    ),
    "installation_history": (
        lambda d: InstallationHistory(str(d / "i.db"), probe=_Probe()),
        lambda s: s.record_installation(
            InstallationType.INSTALL, ["nginx"], ["apt-get install nginx"], datetime.now()
        ),
    ),
    "semantic_cache": (
        lambda d: SemanticCache(str(d / "c.db")),
        lambda s: s.put_commands("install nginx", "p", "m", "s", ["apt-get install nginx"]),
    ),
    "context_memory": (
        lambda d: ContextMemory(str(d / "m.db")),
        lambda s: s.record_interaction(MemoryEntry(category="package", action="install x")),
    ),
    "response_cache": (
        lambda d: ResponseCache(d / "r.db"),
        lambda s: s.put("install git", "apt-get install git"),
    ),
    "kv_cache": (
        lambda d: CacheDatabase(db_path=d / "k.db"),
        lambda s: s.save_pool(CacheConfig(name="p", size_bytes=4096), "segment"),
    ),
    "accelerator_limits": (
        lambda d: LimitsDatabase(db_path=d / "l.db"),
        lambda s: s.save(ResourceLimits.from_preset("job", "inference")),
    ),
}


# -- defect 3: close_all_pools() never breaks a store -------------------------------------


@pytest.mark.parametrize("kind", sorted(_STORES))
def test_close_all_pools_never_breaks_a_store(kind: str, tmp_path: Path) -> None:
    make, use = _STORES[kind]
    store = make(tmp_path)
    use(store)
    close_all_pools()
    use(store)  # upstream's histories raised PoolClosedError here, for good
    close_all_pools()
    use(store)
    LEDGER.add(AREA, operations=3)


@pytest.mark.parametrize("kind", sorted(_STORES))
def test_a_close_between_a_calls_lookup_and_its_checkout_is_not_an_error(
    kind: str, tmp_path: Path
) -> None:
    # The interleaving pytest --preempt found: a call takes the open pool from its handle,
    # another thread closes every pool, then the call checks out a connection. Before: the
    # call raised PoolClosedError. Forced here at that exact point, every time.
    make, use = _STORES[kind]
    store = make(tmp_path)
    handle = store._pool_handle
    looked_up = handle.get
    overtaken = [False]

    def look_up_then_be_overtaken() -> Any:
        pool = looked_up()
        if not overtaken[0]:
            overtaken[0] = True
            close_all_pools()  # another thread, right after this call's first look-up
        return pool

    handle.get = look_up_then_be_overtaken
    try:
        for _ in range(2):
            overtaken[0] = False
            use(store)
            assert overtaken[0]
    finally:
        del handle.get
    LEDGER.add(AREA, operations=2)


def test_close_all_pools_never_breaks_the_shared_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORTEX_DATA_DIR", str(tmp_path))  # its own default history
    history = get_history()
    history.probe = _Probe()
    first = history.begin_transaction(TransactionType.INSTALL, ["nginx"])
    close_all_pools()
    assert get_history().get_transaction(first.id) is not None
    LEDGER.add(AREA, operations=2)


# -- defect 4: pools nobody holds are released ---------------------------------------------

_MANY_STORES = """
import resource, sys
from pathlib import Path
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
from cortex.semantic_cache import SemanticCache
from cortex.transaction_history import TransactionHistory, TransactionType
root, how = Path(sys.argv[1]), sys.argv[2]
for n in range(150):
    if n % 2:
        store = SemanticCache(str(root / f"c{n}.db"))
        store.put_commands("install nginx", "p", "m", "s", ["apt-get install nginx"])
        store.get_commands("install nginx", "p", "m", "s")
    else:
        store = TransactionHistory(root / f"t{n}.db")
        store.search(package="nginx")
    if how == "close":
        store.close()
    else:
        del store  # dropped without close(), as upstream's callers do
print("opened 150")
"""


@pytest.mark.parametrize("how", ["close", "drop"])
def test_150_stores_on_distinct_files_fit_in_256_descriptors(how: str, tmp_path: Path) -> None:
    # Before, every pool stayed in the registry with its connections open: EMFILE at the
    # 83rd store ("unable to open database file").
    [(out, _err)] = run_python_processes(_MANY_STORES, [[str(tmp_path), how]], area=AREA)
    assert out.strip() == "opened 150"
    LEDGER.add(AREA, operations=150)


def test_a_closed_store_releases_its_pool_and_reopens_on_use(tmp_path: Path) -> None:
    store = TransactionHistory(tmp_path / "t.db", probe=_Probe())
    store.begin_transaction(TransactionType.INSTALL, ["nginx"])
    path = str(store.db_path)
    assert path in {s.path for s in all_pool_stats()}
    store.close()
    assert path not in {s.path for s in all_pool_stats()}
    assert len(store.get_recent()) == 1  # used again: opens again
    with TransactionHistory(tmp_path / "t.db") as again:
        assert len(again.get_recent()) == 1
    store.close()
    assert path not in {s.path for s in all_pool_stats()}


@pytest.mark.stress
def test_stores_opened_and_closed_from_32_threads_lose_nothing(tmp_path: Path) -> None:
    # Holds taken and let go at once on one file: a pool is closed only by its last
    # holder, so no thread ever finds the pool it holds closed under it.
    path = tmp_path / "t.db"
    TransactionHistory(path).close()

    def work(_index: int) -> int:
        for _ in range(5):
            with TransactionHistory(path, probe=_Probe()) as history:
                history.begin_transaction(TransactionType.INSTALL, ["nginx"])
        return 5

    written = sum(run_together(work, 32, area=AREA))
    with TransactionHistory(path) as history:
        stored = history.get_stats()["total_transactions"]
    LEDGER.add(AREA, operations=written, data_lost=written - stored)
    assert stored == written == 160
    assert str(path.resolve()) not in {s.path for s in all_pool_stats()}


# -- defect 5: schema set up once, with a version, in BEGIN IMMEDIATE ---------------------

_UPSTREAM_OLD_TRANSACTIONS = """
CREATE TABLE transactions (
    id TEXT PRIMARY KEY, transaction_type TEXT NOT NULL, packages TEXT NOT NULL,
    timestamp TEXT NOT NULL, status TEXT NOT NULL, before_state TEXT, after_state TEXT,
    command TEXT, user TEXT, duration_seconds REAL, error_message TEXT
);
CREATE INDEX idx_timestamp ON transactions(timestamp DESC);
"""
"""An older upstream table: no rollback columns yet (written here from upstream's schema)."""


def _upstream_transactions_db(path: Path, rows: int = 3) -> None:
    with sqlite3.connect(path) as raw:
        raw.executescript(_UPSTREAM_OLD_TRANSACTIONS)
        for n in range(rows):
            raw.execute(
                "INSERT INTO transactions VALUES (?, 'install', ?, ?, 'completed', '{}', '{}',"
                " 'apt install x', 'me', 1.5, NULL)",
                (f"tx_{n}", json.dumps([f"pkg{n}"]), f"2024-03-0{n + 1}T10:00:00.000000"),
            )
    raw.close()


_OPEN_AT_ONCE = """
import sys, time
from cortex.transaction_history import TransactionHistory
start, files = float(sys.argv[1]), sys.argv[2:]
time.sleep(max(0.0, start - time.time()))
failures = []
for name in files:
    try:
        TransactionHistory(name).get_recent(limit=100)
    except Exception as exc:
        failures.append(repr(exc))
print(len(failures))
for failure in failures:
    print(failure, file=sys.stderr)
"""


def test_six_processes_opening_an_upstream_database_at_once_all_succeed(
    tmp_path: Path,
) -> None:
    # Before: 4 of 90 opens failed with "duplicate column name: rollback_commands".
    files = [tmp_path / f"upstream{n}.db" for n in range(15)]
    for path in files:
        _upstream_transactions_db(path)
    start = time.time() + 3.0  # every child has imported cortex by then
    argv = [str(start), *map(str, files)]
    outputs = run_python_processes(_OPEN_AT_ONCE, [argv] * 6, area=AREA)
    failures = [err for out, err in outputs if out.strip() != "0"]
    assert failures == []
    for path in files:
        history = TransactionHistory(path)
        assert sorted(t.id for t in history.get_recent(limit=10)) == ["tx_0", "tx_1", "tx_2"]
        history.close()
    lost = sum(3 - len(TransactionHistory(p).get_recent(limit=10)) for p in files)
    LEDGER.add(AREA, operations=6 * len(files), data_lost=lost)


def test_an_upstream_database_keeps_its_rows_and_times(tmp_path: Path) -> None:
    path = tmp_path / "transaction_history.db"
    _upstream_transactions_db(path)
    history = TransactionHistory(path)
    old = history.get_transaction("tx_0")
    assert old is not None
    assert old.timestamp == datetime(2024, 3, 1, 10, 0)  # naive, read as it was written
    assert old.rollback_commands == []
    assert schema_version(history._pool, "transaction_history") == 1


def test_the_schema_is_set_up_once_and_recorded(tmp_path: Path) -> None:
    calls: list[int] = []
    schema = StoreSchema(
        name="demo",
        version=2,
        create=("CREATE TABLE IF NOT EXISTS t (a INTEGER)",),
        columns={"t": {"b": "ALTER TABLE t ADD COLUMN b TEXT"}},
        migrate=lambda _conn, found: calls.append(found),
    )
    store = TransactionHistory(tmp_path / "x.db")  # any store: borrow its pool
    pool = store._pool_handle.get()
    assert ensure_schema(pool, schema) is True
    assert ensure_schema(pool, schema) is False
    assert calls == [0]
    assert schema_version(store._pool, "demo") == 2
    assert schema_version(store._pool, "transaction_history") == 1


# -- defect 10: a read-only database says so ----------------------------------------------


def test_a_read_only_healthy_database_says_read_only(tmp_path: Path) -> None:
    path = tmp_path / "transaction_history.db"
    history = TransactionHistory(path, probe=_Probe())
    history.begin_transaction(TransactionType.INSTALL, ["nginx"])
    del history
    close_all_pools()
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists()  # checkpointed and removed on close
    before = path.read_bytes()
    # No write bit for anyone. An ordinary user cannot write it; root could, so the pool
    # treats a file with no write bit at all as read-only for root too (and opens it with
    # SQLite's mode=ro), which makes this test mean the same under both.
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        with pytest.raises(DatabaseReadOnlyError) as caught:
            TransactionHistory(path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    message = str(caught.value)
    assert message == f"read-only: {path} (check its permissions)"
    assert "move it aside" not in message
    assert path.read_bytes() == before
    assert len(TransactionHistory(path).get_recent()) == 1  # writable again: all there
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(path.read_bytes() != before))


def test_a_file_that_is_not_sqlite_is_still_called_unusable(tmp_path: Path) -> None:
    path = tmp_path / "transaction_history.db"
    path.write_bytes(b"not a database at all, " * 100)
    with pytest.raises(sqlite3.DatabaseError, match="move it aside"):
        TransactionHistory(path)


# -- one time convention, an injectable clock ----------------------------------------------


def test_times_are_utc_and_sort_across_a_dst_change(tmp_path: Path) -> None:
    # New York, first Sunday of November 2025: 01:30 EDT, then 01:10 EST 40 minutes later.
    edt, est = timezone(timedelta(hours=-4)), timezone(timedelta(hours=-5))
    moments = iter(
        [
            datetime(2025, 11, 2, 1, 30, tzinfo=edt),
            datetime(2025, 11, 2, 1, 31, tzinfo=edt),
            datetime(2025, 11, 2, 1, 10, tzinfo=est),
            datetime(2025, 11, 2, 1, 12, tzinfo=est),
        ]
    )
    history = TransactionHistory(tmp_path / "t.db", probe=_Probe(), clock=lambda: next(moments))
    first = history.begin_transaction(TransactionType.INSTALL, ["nginx"])
    history.complete_transaction(first)
    second = history.begin_transaction(TransactionType.INSTALL, ["curl"])
    history.complete_transaction(second)
    assert [t.id for t in history.get_recent()] == [second.id, first.id]
    assert first.duration_seconds == 60.0
    assert second.duration_seconds == 120.0
    stored = history.get_transaction(second.id)
    assert stored is not None
    assert stored.timestamp == datetime(2025, 11, 2, 6, 10, tzinfo=timezone.utc)
    assert format_time(stored.timestamp) == "2025-11-02T06:10:00.000000+00:00"


def test_parse_time_reads_every_stored_form() -> None:
    assert parse_time("2024-03-01T10:00:00") == datetime(2024, 3, 1, 10)
    aware = datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert parse_time("2024-03-01T10:00:00.000000+00:00") == aware
    assert parse_time("2024-03-01T10:00:00.000000Z") == aware


# -- CORTEX_DATA_DIR -------------------------------------------------------------------


def test_cortex_data_dir_places_every_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("CORTEX_DATA_DIR", str(data))
    stores: list[Any] = [
        TransactionHistory(),
        InstallationHistory(),
        SemanticCache(),
        ContextMemory(),
        ResponseCache(),
        CacheDatabase(),
        LimitsDatabase(),
    ]
    names = sorted(Path(str(s.db_path)).name for s in stores)
    assert names == sorted(
        [
            "transaction_history.db",
            "history.db",
            "cache.db",
            "context_memory.db",
            "response_cache.db",
            "kv_cache.db",
            "limits.db",
        ]
    )
    assert {Path(str(s.db_path)).parent for s in stores} == {data.resolve()}
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    explicit = tmp_path / "elsewhere" / "t.db"
    assert resolve_db_path(explicit, "~/.cortex/transaction_history.db") == explicit
    for store in stores:
        store.close()


@pytest.mark.parametrize("value", ["relative/dir", "", "\0x"])
def test_cortex_data_dir_must_be_an_absolute_directory(value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CORTEX_DATA_DIR"):
        load_settings({"CORTEX_DATA_DIR": value})
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(SettingsError, match="CORTEX_DATA_DIR"):
        load_settings({"CORTEX_DATA_DIR": str(a_file)})
    assert load_settings({"CORTEX_DATA_DIR": "~/x"}).data_dir == os.path.expanduser("~/x")


# -- defect 1: semantic-cache counts survive every lifecycle -------------------------------


def _stats(db: str) -> tuple[int, int]:
    cache = SemanticCache(db)
    stats = cache.stats()
    cache.close()
    return stats.hits, stats.misses


def test_cache_counts_survive_an_instance_dropped_without_close(tmp_path: Path) -> None:
    db = str(tmp_path / "cache.db")
    cache = SemanticCache(db, coherence_interval=3600)
    cache.put_commands("install nginx", "p", "m", "s", ["apt-get install nginx"])
    for _ in range(3):
        assert cache.get_commands("install nginx", "p", "m", "s") is not None
    assert cache.get_commands("remove curl", "p", "m", "s") is None
    del cache  # upstream's usage: an instance per call, never closed
    gc.collect()
    assert _stats(db) == (3, 1)
    LEDGER.add(AREA, operations=4, data_lost=4 - sum(_stats(db)))


def test_a_dropped_cache_never_waits_for_a_lock_its_collector_holds(tmp_path: Path) -> None:
    # The garbage collector can run a finalizer at any allocation, in a thread holding the
    # very lock the finalizer needs. Before: a dropped cache wrote its counts from its
    # finalizer, so a collection inside the pool's own lock deadlocked that thread.
    db = str(tmp_path / "cache.db")
    keeper = SemanticCache(db, coherence_interval=3600)  # keeps the file's counts registered
    dropped = SemanticCache(db, coherence_interval=3600)
    dropped.put_commands("install nginx", "p", "m", "s", ["apt-get install nginx"])
    assert dropped.get_commands("install nginx", "p", "m", "s") is not None
    dropped.itself = dropped  # type: ignore[attr-defined]  # a cycle: only a collection frees it
    pool = keeper._pool_handle.get()
    collected = threading.Event()

    def collect_inside_the_pool_lock() -> None:
        with pool._lock:  # what a thread holds while the pool hands out a connection
            gc.collect()
        collected.set()

    del dropped
    gc.disable()  # the collection must happen inside the lock, in that thread
    try:
        worker = threading.Thread(target=collect_inside_the_pool_lock, daemon=True)
        worker.start()
        if not collected.wait(30):
            pool._lock.release()  # a plain Lock: unstick that thread, so the suite goes on
            pytest.fail("a finalizer waited for a lock its own thread holds")
    finally:
        gc.enable()
    assert keeper.stats().hits == 1  # the queued write is made by the next ordinary call
    keeper.close()


def test_two_instances_on_one_file_see_each_others_counts(tmp_path: Path) -> None:
    db = str(tmp_path / "cache.db")
    first = SemanticCache(db, coherence_interval=3600)
    second = SemanticCache(db, coherence_interval=3600)
    first.put_commands("install nginx", "p", "m", "s", ["apt-get install nginx"])
    for _ in range(5):
        first.get_commands("install nginx", "p", "m", "s")
    assert (second.stats().hits, second.stats().misses) == (5, 0)
    LEDGER.add(AREA, operations=5)


def test_eviction_by_another_instance_keeps_the_entry_just_hit(tmp_path: Path) -> None:
    db = str(tmp_path / "cache.db")
    reader = SemanticCache(db, max_entries=2, coherence_interval=3600)
    writer = SemanticCache(db, max_entries=2, coherence_interval=3600)
    reader.put_commands("install nginx", "p", "m", "s", ["apt-get install nginx"])
    time.sleep(0.002)  # distinct nanosecond access times
    reader.put_commands("install curl", "p", "m", "s", ["apt-get install curl"])
    time.sleep(0.002)
    assert reader.get_commands("install nginx", "p", "m", "s") is not None  # just hit
    writer.put_commands("install git", "p", "m", "s", ["apt-get install git"])  # evicts one
    check = SemanticCache(db, read_through=False)
    assert check.get_commands("install nginx", "p", "m", "s", candidate_limit=0) is not None
    assert check.get_commands("install curl", "p", "m", "s", candidate_limit=0) is None


_FORK_CHILD_EXITS = """
import os, sys
from cortex.semantic_cache import SemanticCache
db = sys.argv[1]
cache = SemanticCache(db, coherence_interval=3600)
cache.put_commands("install nginx", "p", "m", "s", ["apt-get install nginx"])
for _ in range(10):
    cache.get_commands("install nginx", "p", "m", "s")
pid = os.fork()
if pid == 0:
    sys.exit(0)  # a normal exit: atexit handlers and finalizers run in the child
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
stats = cache.stats()
print(stats.hits, stats.misses)
"""


def test_a_forked_child_exiting_normally_does_not_count_the_parents_hits_again(
    tmp_path: Path,
) -> None:
    # Before: the child flushed the parent's 10 pending hits at exit, and so did the
    # parent: 20 reported.
    db = str(tmp_path / "cache.db")
    [(out, _err)] = run_python_processes(_FORK_CHILD_EXITS, [[db]], area=AREA)
    assert out.split() == ["10", "0"]
    LEDGER.add(AREA, operations=10, data_lost=abs(int(out.split()[0]) - 10))


def test_counts_are_written_at_exit_by_a_process_that_never_closes(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from cortex.semantic_cache import SemanticCache
        cache = SemanticCache(sys.argv[1], coherence_interval=3600)
        cache.put_commands("install nginx", "p", "m", "s", ["apt-get install nginx"])
        for _ in range(7):
            cache.get_commands("install nginx", "p", "m", "s")
        """
    )
    db = str(tmp_path / "cache.db")
    run_python_processes(code, [[db]], area=AREA)
    assert _stats(db) == (7, 0)


# -- upstream databases open without loss ----------------------------------------------------


def test_an_upstream_installation_ledger_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as raw:
        raw.execute(
            "CREATE TABLE installations (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, "
            "operation_type TEXT NOT NULL, packages TEXT NOT NULL, status TEXT NOT NULL, "
            "before_snapshot TEXT, after_snapshot TEXT, commands_executed TEXT, "
            "error_message TEXT, rollback_available INTEGER, duration_seconds REAL)"
        )
        raw.execute("CREATE INDEX idx_timestamp ON installations(timestamp)")
        raw.execute(
            "INSERT INTO installations VALUES ('abc', '2024-03-01T10:00:00.000000', 'install',"
            " '[\"nginx\"]', 'success', '[]', '[]', '[\"apt-get install nginx\"]', NULL, 1,"
            " 2.5)"
        )
    raw.close()
    ledger = InstallationHistory(str(path), probe=_Probe())
    new_id = ledger.record_installation(
        InstallationType.INSTALL, ["curl"], ["apt-get install curl"], datetime.now()
    )
    old = ledger.get_installation("abc")
    assert old is not None
    assert (old.timestamp, old.packages, old.duration_seconds) == (
        "2024-03-01T10:00:00.000000",
        ["nginx"],
        2.5,
    )
    assert {r.id for r in ledger.get_history(limit=0)} == {"abc", new_id}


def test_upstream_kernel_feature_databases_keep_their_rows(tmp_path: Path) -> None:
    kv_path, limits_path = tmp_path / "kv_cache.db", tmp_path / "limits.db"
    config = {"name": "old", "size_bytes": 4096}
    with sqlite3.connect(kv_path) as raw:
        raw.execute("CREATE TABLE pools (name TEXT PRIMARY KEY, config TEXT, shm_name TEXT)")
        raw.execute("INSERT INTO pools VALUES ('old', ?, 'cortex_kv_old')", (json.dumps(config),))
    raw.close()
    profile = json.dumps({"name": "job", "preset": "inference"})
    with sqlite3.connect(limits_path) as raw:
        raw.execute("CREATE TABLE profiles (name TEXT PRIMARY KEY, config TEXT)")
        raw.execute("INSERT INTO profiles VALUES ('job', ?)", (profile,))
    raw.close()
    found = CacheDatabase(db_path=kv_path).get_pool("old")
    assert found is not None
    assert (found[0].name, found[1]) == ("old", "cortex_kv_old")
    limits = LimitsDatabase(db_path=limits_path).get("job")
    assert limits is not None
    assert limits.name == "job"
