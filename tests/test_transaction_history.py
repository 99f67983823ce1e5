"""Transaction history and undo: behaviour, upstream databases, threads and processes.

Nothing here runs a package manager: package state comes from
:class:`cortex.demos.sqlite.StaticProbe` and undo goes through
:class:`cortex.demos.sqlite.RecordingRunner`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import cortex.transaction_history as th
from cortex.demos.harness import run_python_processes, run_together
from cortex.demos.singletons import UnsafeLazySingleton
from cortex.demos.sqlite import LeakyPool
from cortex.transaction_history import (
    CommandResult,
    DpkgProbe,
    PackageState,
    SubprocessRunner,
    Transaction,
    TransactionHistory,
    TransactionStatus,
    TransactionType,
    UndoManager,
    rollback_argv,
)
from cortex.utils.db_pool import close_all_pools
from tests.support.fakes import RecordingRunner, StaticProbe

pytestmark = pytest.mark.thread_unsafe(
    reason=(
        "the tests share one history database through a fixture and assert exact row counts; "
        "they release their own threads where concurrency is the point"
    )
)

INSTALLED = {"curl": "7.88.1-10", "nginx": "1.22.1-9", "bash": "5.2.15-2"}


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    close_all_pools()


@pytest.fixture
def probe() -> StaticProbe:
    return StaticProbe(INSTALLED)


@pytest.fixture
def history(tmp_path: Path, probe: StaticProbe) -> TransactionHistory:
    return TransactionHistory(tmp_path / "tx.db", probe=probe)


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


@pytest.fixture
def undo(history: TransactionHistory, runner: RecordingRunner) -> UndoManager:
    return UndoManager(history, runner=runner)


def _done(history: TransactionHistory, kind: TransactionType, *packages: str) -> Transaction:
    tx = history.begin_transaction(kind, list(packages), f"cortex {kind.value}")
    history.complete_transaction(tx, success=True)
    return tx


# -- records -----------------------------------------------------------------------------


def test_a_transaction_round_trips(history: TransactionHistory) -> None:
    tx = history.begin_transaction(TransactionType.INSTALL, ["redis", "curl"], "cortex install")
    assert tx.status is TransactionStatus.IN_PROGRESS
    assert tx.before_state["redis"].installed is False
    assert tx.before_state["curl"].version == "7.88.1-10"
    assert tx.rollback_commands == ["apt-get remove -y redis"]
    stored = history.get_transaction(tx.id)
    assert stored is not None
    assert stored.to_dict() == tx.to_dict()
    history.complete_transaction(tx, success=True)
    stored = history.get_transaction(tx.id)
    assert stored is not None
    assert stored.status is TransactionStatus.COMPLETED
    assert set(stored.after_state) == {"redis", "curl"}
    assert stored.duration_seconds >= 0
    assert Transaction.from_dict(json.loads(json.dumps(stored.to_dict()))) == stored
    assert (
        PackageState.from_dict(stored.before_state["curl"].to_dict())
        == (stored.before_state["curl"])
    )


def test_a_failed_transaction_keeps_its_error(history: TransactionHistory) -> None:
    tx = history.begin_transaction(TransactionType.REMOVE, ["nginx"])
    history.complete_transaction(tx, success=False, error_message="dpkg was interrupted")
    stored = history.get_transaction(tx.id)
    assert stored is not None
    assert stored.status is TransactionStatus.FAILED
    assert stored.error_message == "dpkg was interrupted"
    assert history.get_transaction("tx_missing") is None


def test_invalid_package_names_are_refused(history: TransactionHistory) -> None:
    for bad in ["nginx; rm -rf /", "-y", "Nginx", "$(reboot)", "a", "node@", "x@$(id)"]:
        with pytest.raises(ValueError, match="not valid package names"):
            history.begin_transaction(TransactionType.INSTALL, [bad])
    assert history.get_stats()["total_transactions"] == 0


def test_an_upstream_package_spec_is_recorded_without_a_rollback(
    history: TransactionHistory,
) -> None:
    tx = history.begin_transaction(TransactionType.INSTALL, ["node@18", "redis"], "npm i")
    stored = history.get_transaction(tx.id)
    assert stored is not None
    assert stored.packages == ["node@18", "redis"]
    assert all("node" not in command for command in stored.rollback_commands)


def test_rollback_commands_per_type() -> None:
    before = {
        "curl": PackageState("curl", "7.88.1-10", installed=True),
        "redis": PackageState("redis"),
    }
    assert rollback_argv(TransactionType.INSTALL, before) == [["apt-get", "remove", "-y", "redis"]]
    assert rollback_argv(TransactionType.REMOVE, before) == [
        ["apt-get", "install", "-y", "curl=7.88.1-10"]
    ]
    assert rollback_argv(TransactionType.PURGE, before) == [
        ["apt-get", "install", "-y", "curl=7.88.1-10"]
    ]
    assert rollback_argv(TransactionType.UPGRADE, before) == [
        ["apt-get", "install", "-y", "--allow-downgrades", "curl=7.88.1-10"]
    ]
    assert rollback_argv(TransactionType.CONFIGURE, before) == []
    hostile = {
        "curl": PackageState("curl", "1.0; rm -rf /", installed=True),
        "x y": PackageState("x y", "1", installed=True),
    }
    assert rollback_argv(TransactionType.REMOVE, hostile) == [["apt-get", "install", "-y", "curl"]]


def test_recent_search_and_stats(history: TransactionHistory) -> None:
    first = _done(history, TransactionType.INSTALL, "nginx")
    time.sleep(0.002)
    _done(history, TransactionType.INSTALL, "nginx-common")
    failed = history.begin_transaction(TransactionType.REMOVE, ["curl"])
    history.complete_transaction(failed, success=False, error_message="no")
    recent = history.get_recent()
    assert [t.id for t in recent][-1] == first.id
    assert len(recent) == 3
    assert [t.id for t in history.get_recent(status_filter=TransactionStatus.FAILED)] == [failed.id]
    assert [t.id for t in history.search(package="nginx")] == [first.id]  # exact name
    assert len(history.search(transaction_type=TransactionType.INSTALL)) == 2
    assert history.search(since=datetime.now() + timedelta(days=1)) == []
    assert len(history.search(until=datetime.now())) == 3
    assert len(history.search(limit=1)) == 1
    stats = history.get_stats()
    assert stats["total_transactions"] == 3
    assert stats["by_type"]["install"] == 2
    assert stats["by_type"]["remove"] == 1
    assert stats["by_status"]["completed"] == 2
    assert stats["by_status"]["failed"] == 1
    assert stats["db_size_kb"] > 0


def test_critical_packages_are_flagged(history: TransactionHistory) -> None:
    tx = _done(history, TransactionType.UPGRADE, "bash")
    assert tx.is_rollback_safe is False
    assert "bash" in (tx.rollback_warning or "")
    purge = _done(history, TransactionType.PURGE, "nginx")
    assert purge.is_rollback_safe is True
    assert "configuration" in (purge.rollback_warning or "")


# -- undo ------------------------------------------------------------------------------


def test_undo_is_checked_previewed_and_dry_run_first(
    history: TransactionHistory, undo: UndoManager, runner: RecordingRunner
) -> None:
    tx = _done(history, TransactionType.REMOVE, "nginx")
    assert undo.can_undo(tx.id) == (True, "Safe to undo")
    preview = undo.preview_undo(tx.id)
    assert preview["commands"] == ["apt-get install -y nginx=1.22.1-9"]
    assert preview["argv"] == [["apt-get", "install", "-y", "nginx=1.22.1-9"]]
    assert preview["state_changes"]["nginx"]["before"]["installed"] is True
    assert preview["original_type"] == "remove"
    dry = undo.undo(tx.id, dry_run=True)
    assert dry["success"] is True
    assert dry["dry_run"] is True
    assert runner.commands == []  # a dry run runs nothing
    done = undo.undo(tx.id)
    assert done["success"] is True
    assert runner.commands == [["apt-get", "install", "-y", "nginx=1.22.1-9"]]
    stored = history.get_transaction(tx.id)
    assert stored is not None
    assert stored.status is TransactionStatus.ROLLED_BACK
    assert undo.can_undo(tx.id) == (False, "Transaction already rolled back")
    assert undo.undo(tx.id)["success"] is False
    assert len(runner.commands) == 1


def test_undo_refusals(history: TransactionHistory, undo: UndoManager) -> None:
    assert undo.can_undo("nope") == (False, "Transaction not found")
    assert undo.preview_undo("nope") == {"error": "Transaction not found"}
    assert undo.undo("nope") == {"success": False, "error": "Transaction not found"}
    running = history.begin_transaction(TransactionType.INSTALL, ["redis"])
    assert undo.can_undo(running.id)[1] == "Cannot undo transaction with status: in_progress"
    nothing = _done(history, TransactionType.INSTALL, "curl")  # was installed already
    assert undo.can_undo(nothing.id) == (False, "No rollback commands available")
    assert undo.undo_last(dry_run=True)["error"] == "No rollback commands available"


def test_unsafe_undo_needs_force(undo: UndoManager, history: TransactionHistory) -> None:
    tx = _done(history, TransactionType.UPGRADE, "bash")
    refused = undo.undo(tx.id)
    assert refused["success"] is False
    assert "force=True" in refused["error"]
    assert undo.undo(tx.id, force=True)["success"] is True


def test_a_failing_rollback_is_partial(history: TransactionHistory) -> None:
    runner = RecordingRunner(fail="curl=7.88.1-10")
    manager = UndoManager(history, runner=runner)
    tx = _done(history, TransactionType.REMOVE, "curl", "nginx")
    result = manager.undo(tx.id)
    assert result["success"] is False
    assert "Unable to locate" in result["errors"][0]
    stored = history.get_transaction(tx.id)
    assert stored is not None
    assert stored.status is TransactionStatus.PARTIALLY_COMPLETED
    assert len(runner.commands) == 2


def test_undo_last_takes_the_newest_completed(
    history: TransactionHistory, undo: UndoManager
) -> None:
    assert undo.undo_last()["error"] == "No completed transactions to undo"
    _done(history, TransactionType.INSTALL, "redis")
    time.sleep(0.002)
    newest = _done(history, TransactionType.REMOVE, "curl")
    result = undo.undo_last(dry_run=True)
    assert result["transaction_id"] == newest.id
    assert result["commands"] == ["apt-get install -y curl=7.88.1-10"]


def _upstream_undo(manager: UndoManager, transaction_id: str) -> None:
    """The twin: check, run, then mark (no claim), as upstream's undo does."""
    ok, _ = manager.can_undo(transaction_id)
    tx = manager.history.get_transaction(transaction_id)
    if not ok or tx is None:
        return
    for argv in rollback_argv(tx.transaction_type, tx.before_state):
        manager.runner.run(argv)
    tx.status = TransactionStatus.ROLLED_BACK
    manager.history._save(tx)


@pytest.mark.stress
@pytest.mark.parametrize("upstream", [False, True], ids=["claimed", "upstream-twin"])
def test_32_threads_undoing_one_transaction_run_it_once(
    history: TransactionHistory, upstream: bool
) -> None:
    runner = RecordingRunner(delay=0.01)
    manager = UndoManager(history, runner=runner)
    tx = _done(history, TransactionType.REMOVE, "nginx")
    if upstream:
        run_together(lambda _i: _upstream_undo(manager, tx.id), 32)
        assert len(runner.commands) > 1  # the same rollback ran several times
    else:
        results = run_together(lambda _i: manager.undo(tx.id), 32)
        assert sum(r["success"] for r in results) == 1
        assert len(runner.commands) == 1


# -- concurrency -------------------------------------------------------------------------


def _mixed(history: TransactionHistory, threads: int, per_thread: int) -> tuple[int, int, int]:
    """Each thread begins, completes and reads back transactions; returns error count etc."""
    errors: list[str] = []

    def work(index: int) -> int:
        misses = 0
        for i in range(per_thread):
            try:
                kind = TransactionType.INSTALL if i % 2 else TransactionType.REMOVE
                tx = history.begin_transaction(kind, ["redis", "curl"], f"t{index} #{i}")
                history.complete_transaction(tx, success=True)
                stored = history.get_transaction(tx.id)
                misses += stored is None or stored.status is not TransactionStatus.COMPLETED
                history.get_recent(5)
            except Exception as exc:  # counted
                errors.append(type(exc).__name__)
        return misses

    misses = sum(run_together(work, threads))
    raw = sqlite3.connect(history.db_path)
    try:
        (completed,) = raw.execute(
            "SELECT count(*) FROM transactions WHERE status = 'completed'"
        ).fetchone()
    finally:
        raw.close()
    return completed, misses, len(errors)


@pytest.mark.stress
def test_32_threads_mixed_reads_and_writes(history: TransactionHistory) -> None:
    completed, misses, errors = _mixed(history, 32, 4)
    assert (completed, misses, errors) == (128, 0, 0)
    stats = history.get_stats()
    assert stats["total_transactions"] == 128
    assert stats["by_type"]["install"] == 64
    assert stats["by_type"]["remove"] == 64


@pytest.mark.twin
@pytest.mark.stress
def test_the_same_check_fails_on_upstreams_pool(history: TransactionHistory) -> None:
    leaky = LeakyPool(history.db_path, pool_size=5, timeout=0.02)
    history._pool = leaky  # type: ignore[assignment]
    try:
        completed, misses, errors = _mixed(history, 32, 2)
    finally:
        leaky.close_all()
    assert (completed, misses, errors) != (64, 0, 0)
    assert completed < 64


@pytest.mark.stress
def test_singletons_from_100_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CORTEX_DATA_DIR")  # the default path, under this home
    original = TransactionHistory.__init__

    def slow_init(self: TransactionHistory, *args: object, **kwargs: object) -> None:
        time.sleep(0.02)  # opening a database takes time: it widens the race window
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TransactionHistory, "__init__", slow_init)
    results = run_together(lambda _i: (th.get_history(), th.get_undo_manager()), 100)
    assert len({id(h) for h, _ in results}) == 1
    assert len({id(u) for _, u in results}) == 1
    assert results[0][1].history is results[0][0]
    assert th.get_history().db_path == tmp_path / ".cortex" / "transaction_history.db"
    unsafe = UnsafeLazySingleton(TransactionHistory)
    twins = run_together(lambda _i: unsafe.get(), 100)
    assert len({id(h) for h in twins}) > 1  # the upstream pattern builds several


def test_module_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CORTEX_DATA_DIR")  # a fresh default history, under this home
    monkeypatch.setattr(th.DpkgProbe, "state", lambda _self, name: PackageState(name))
    tx = th.record_install(["redis"], "cortex install redis")
    th.get_history().complete_transaction(tx)
    removal = th.record_remove(["redis"])
    assert [d["id"] for d in th.show_history()] == [removal.id, tx.id]
    assert th.undo_last(dry_run=True)["commands"] == ["apt-get remove -y redis"]


_CHILD = """
import sys
from cortex.demos.sqlite import LeakyPool
from tests.support.fakes import StaticProbe
from cortex.transaction_history import TransactionHistory, TransactionType
from cortex.utils.db_pool import close_all_pools

path, worker, count, leaky = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
history = TransactionHistory(path, probe=StaticProbe({"curl": "1.0"}))
if leaky == "1":
    history._pool = LeakyPool(path, timeout=0.02)
failed = 0
for i in range(count):
    try:
        tx = history.begin_transaction(TransactionType.INSTALL, ["redis"], f"p{worker} {i}")
        history.complete_transaction(tx)
    except Exception:
        failed += 1
if leaky == "1":
    history._pool.close_all()
close_all_pools()
print(failed)
"""


@pytest.mark.stress
@pytest.mark.parametrize(("leaky", "holds"), [("0", True), ("1", False)], ids=["pool", "twin"])
def test_several_processes_write_with_nothing_lost(tmp_path: Path, leaky: str, holds: bool) -> None:
    path = tmp_path / "shared.db"
    TransactionHistory(path, probe=StaticProbe())  # create the schema once
    close_all_pools()
    outputs = run_python_processes(_CHILD, [[str(path), str(w), "25", leaky] for w in range(4)])
    failures = sum(int(out) for out, _err in outputs)
    raw = sqlite3.connect(path)
    try:
        (rows,) = raw.execute(
            "SELECT count(*) FROM transactions WHERE status = 'completed'"
        ).fetchone()
    finally:
        raw.close()
    assert (rows == 100 and failures == 0) is holds, (rows, failures)


# -- existing upstream databases ----------------------------------------------------------

_UPSTREAM_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id TEXT PRIMARY KEY, transaction_type TEXT NOT NULL, packages TEXT NOT NULL,
    timestamp TEXT NOT NULL, status TEXT NOT NULL, before_state TEXT, after_state TEXT,
    command TEXT, user TEXT, duration_seconds REAL, error_message TEXT,
    rollback_commands TEXT, is_rollback_safe INTEGER, rollback_warning TEXT
);
CREATE INDEX IF NOT EXISTS idx_timestamp ON transactions(timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_status ON transactions(status);
"""


def _upstream_row(i: int, status: str = "completed") -> tuple[object, ...]:
    before: dict[str, object] = {"nginx": {"name": "nginx", "version": None, "installed": False,
                        "config_files": [], "dependencies": []}}  # fmt: skip
    return (
        f"tx_2025120{i}101500000000_abcd{i:04d}",
        "install",
        json.dumps(["nginx"]),
        f"2025-12-0{i}T10:15:00",
        status,
        json.dumps(before),
        json.dumps({}),
        "cortex install nginx",
        "alice",
        12.5,
        None,
        json.dumps(["sudo apt remove -y nginx"]),
        1,
        None,
    )


@pytest.mark.twin
def test_an_upstream_database_opens_with_every_row(tmp_path: Path, probe: StaticProbe) -> None:
    path = tmp_path / "transaction_history.db"
    raw = sqlite3.connect(path)
    raw.executescript(_UPSTREAM_SCHEMA)
    raw.executemany(
        "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_upstream_row(i) for i in range(1, 4)],
    )
    raw.commit()
    raw.close()
    history = TransactionHistory(path, probe=probe)
    recent = history.get_recent(limit=10)
    assert [t.id for t in recent] == [_upstream_row(i)[0] for i in (3, 2, 1)]
    assert recent[0].user == "alice"
    assert recent[0].rollback_commands == ["sudo apt remove -y nginx"]
    assert recent[0].timestamp == datetime(2025, 12, 3, 10, 15)
    manager = UndoManager(history, runner=RecordingRunner())
    assert manager.preview_undo(recent[0].id)["commands"] == ["apt-get remove -y nginx"]
    _done(history, TransactionType.INSTALL, "redis")
    assert history.get_stats()["total_transactions"] == 4


def test_an_older_table_gets_its_missing_columns(tmp_path: Path, probe: StaticProbe) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.execute(
        "CREATE TABLE transactions (id TEXT PRIMARY KEY, transaction_type TEXT NOT NULL,"
        " packages TEXT NOT NULL, timestamp TEXT NOT NULL, status TEXT NOT NULL,"
        " before_state TEXT, after_state TEXT, command TEXT)"
    )
    raw.execute("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _upstream_row(1)[:8])
    raw.commit()
    raw.close()
    history = TransactionHistory(path, probe=probe)
    (old,) = history.get_recent()
    assert old.user == ""
    assert old.is_rollback_safe is True
    assert old.rollback_commands == []


# -- the real probe and runner -------------------------------------------------------------


class _FakeDpkg:
    def __init__(self, out: str, code: int = 0) -> None:
        self.out, self.code = out, code
        self.argv: list[list[str]] = []

    def run(self, argv: Sequence[str]) -> CommandResult:
        self.argv.append(list(argv))
        return CommandResult(self.code, self.out, "")


def test_dpkg_probe_parses_dpkg_query(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: "/usr/bin/dpkg-query")
    out = (
        "install ok installed\x1f1.22.1-9\x1fnginx-common (= 1.22.1-9), libc6 (>= 2.34) |"
        " libc6-alt\x1f /etc/nginx/nginx.conf 0123\n /etc/default/nginx 4567\n"
    )
    fake = _FakeDpkg(out)
    state = DpkgProbe(fake).state("nginx")
    assert fake.argv[0][:2] == ["dpkg-query", "-W"]
    assert fake.argv[0][-2:] == ["--", "nginx"]
    assert state == PackageState(
        "nginx",
        "1.22.1-9",
        installed=True,
        config_files=["/etc/nginx/nginx.conf", "/etc/default/nginx"],
        dependencies=["nginx-common", "libc6"],
    )
    removed = DpkgProbe(_FakeDpkg("deinstall ok config-files\x1f1.0\x1f\x1f")).state("nginx")
    assert removed.installed is False
    assert DpkgProbe(_FakeDpkg("", code=1)).state("nginx").installed is False
    assert DpkgProbe(fake).state("bad name").installed is False


@pytest.mark.skipif(
    shutil.which("dpkg-query") is None,
    reason="no dpkg-query here",
)
def test_dpkg_probe_reads_this_machine() -> None:
    assert DpkgProbe().state("dpkg").installed is True
    assert DpkgProbe().state("no-such-package-cortex").installed is False


def test_subprocess_runner_uses_argument_lists() -> None:
    runner = SubprocessRunner(timeout=10)
    assert runner.run([sys.executable, "-c", "print('a; b')"]).stdout == "a; b\n"
    assert runner.run(["/nonexistent/program"]).returncode == 127
    slow = SubprocessRunner(timeout=0.2)
    assert slow.run([sys.executable, "-c", "import time; time.sleep(5)"]).returncode == 124


def test_a_privileged_runner_adds_sudo_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(argv: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    SubprocessRunner(privileged=True).run(["apt-get", "remove", "-y", "redis"])
    SubprocessRunner().run(["dpkg-query", "-W", "redis"])
    monkeypatch.setattr("os.geteuid", lambda: 0)
    SubprocessRunner(privileged=True).run(["apt-get", "remove", "-y", "redis"])
    assert seen == [
        ["sudo", "--", "apt-get", "remove", "-y", "redis"],
        ["dpkg-query", "-W", "redis"],
        ["apt-get", "remove", "-y", "redis"],
    ]
