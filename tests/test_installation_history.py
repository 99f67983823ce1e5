"""The installation ledger: records, rollback, export, cleanup, threads and processes.

Package state comes from :class:`cortex.demos.sqlite.StaticProbe` and rollback goes
through :class:`cortex.demos.sqlite.RecordingRunner`: nothing here runs a package manager.
"""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cortex.demos.harness import run_python_processes, run_together
from cortex.demos.sqlite import LeakyPool
from cortex.installation_history import (
    InstallationHistory,
    InstallationRecord,
    InstallationStatus,
    InstallationType,
    PackageSnapshot,
    extract_packages,
)
from cortex.utils.db_pool import close_all_pools
from tests.support.fakes import RecordingRunner, StaticProbe

pytestmark = pytest.mark.thread_unsafe(
    reason=(
        "the tests share one history database through a fixture and assert exact row counts; "
        "they release their own threads where concurrency is the point"
    )
)

START_STATE = {"curl": "7.88.1-10", "nginx": "1.22.1-9"}


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    close_all_pools()


@pytest.fixture
def probe() -> StaticProbe:
    return StaticProbe(START_STATE)


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


@pytest.fixture
def ledger(tmp_path: Path, probe: StaticProbe, runner: RecordingRunner) -> InstallationHistory:
    return InstallationHistory(str(tmp_path / "history.db"), probe=probe, runner=runner)


def _install_redis_and_upgrade_curl(ledger: InstallationHistory, probe: StaticProbe) -> str:
    """Record an operation that installs redis and upgrades curl, then marks it a success."""
    install_id = ledger.record_installation(
        InstallationType.INSTALL,
        ["redis", "curl"],
        ["apt-get install -y redis curl"],
        datetime.now(),
    )
    probe.installed.update(redis="7.0.15-1", curl="8.5.0-1")
    ledger.update_installation(install_id, InstallationStatus.SUCCESS)
    return install_id


# -- records -----------------------------------------------------------------------------


def test_record_and_update(ledger: InstallationHistory, probe: StaticProbe) -> None:
    install_id = _install_redis_and_upgrade_curl(ledger, probe)
    assert len(install_id) == 16
    record = ledger.get_installation(install_id)
    assert record is not None
    assert record.status is InstallationStatus.SUCCESS
    assert record.operation_type is InstallationType.INSTALL
    assert record.packages == ["redis", "curl"]
    assert record.before_snapshot == [
        PackageSnapshot("redis", "not-installed", "not-installed", [], []),
        PackageSnapshot("curl", "7.88.1-10", "installed", [], []),
    ]
    assert [s.version for s in record.after_snapshot] == ["7.0.15-1", "8.5.0-1"]
    assert record.commands_executed == ["apt-get install -y redis curl"]
    assert record.duration_seconds is not None
    assert record.duration_seconds >= 0
    assert record.rollback_available is True
    assert ledger.get_installation("0123456789abcdef") is None


def test_an_unknown_update_is_logged(
    ledger: InstallationHistory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="cortex.installation_history"):
        ledger.update_installation("missing", InstallationStatus.FAILED, "x")
    assert "missing not found" in caplog.text
    assert ledger.get_history() == []


def test_packages_are_taken_from_commands(ledger: InstallationHistory) -> None:
    commands = [
        "sudo apt-get install -y nginx curl=7.88.1-10 && sudo apt remove --purge redis",
        "DEBIAN_FRONTEND=noninteractive apt-get -y install postgresql-15",
        "dpkg -i /tmp/cortex-agent_1.2_amd64.deb",
        "echo apt install not-me; ls 'unbalanced",
        "apt-get update",
    ]
    assert extract_packages(commands) == [
        "cortex-agent",
        "curl",
        "nginx",
        "postgresql-15",
        "redis",
    ]
    install_id = ledger.record_installation(
        InstallationType.INSTALL, [], commands[:1], datetime.now()
    )
    record = ledger.get_installation(install_id)
    assert record is not None
    assert record.packages == ["curl", "nginx", "redis"]


def test_history_order_limit_and_filter(ledger: InstallationHistory) -> None:
    base = datetime.now()
    ids = [
        ledger.record_installation(
            InstallationType.INSTALL, ["nginx"], [], base + timedelta(seconds=i)
        )
        for i in range(5)
    ]
    ledger.update_installation(ids[1], InstallationStatus.FAILED, "broken")
    assert [r.id for r in ledger.get_history()] == ids[::-1]
    assert [r.id for r in ledger.get_history(limit=2)] == ids[:2:-1]
    failed = ledger.get_history(status_filter=InstallationStatus.FAILED)
    assert [(r.id, r.error_message) for r in failed] == [(ids[1], "broken")]
    assert len(ledger.get_history(status_filter=InstallationStatus.IN_PROGRESS)) == 4


def test_an_unwritable_directory_falls_back_to_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe: StaticProbe
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CORTEX_DATA_DIR")  # the fallback is ~/.cortex only without it
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    ledger = InstallationHistory(str(blocker / "history.db"), probe=probe)
    assert ledger.db_path == str(tmp_path / "home" / ".cortex" / "history.db")
    assert Path(ledger.db_path).exists()


# -- rollback ----------------------------------------------------------------------------


def test_rollback_dry_run_lists_the_commands(
    ledger: InstallationHistory, probe: StaticProbe, runner: RecordingRunner
) -> None:
    install_id = _install_redis_and_upgrade_curl(ledger, probe)
    ok, message = ledger.rollback(install_id, dry_run=True)
    assert ok is True
    assert message.splitlines() == [
        "Would run:",
        "apt-get remove -y redis",
        "apt-get install -y --allow-downgrades curl=7.88.1-10",
    ]
    assert runner.commands == []
    record = ledger.get_installation(install_id)
    assert record is not None
    assert record.status is InstallationStatus.SUCCESS


def test_rollback_runs_argument_lists_once(
    ledger: InstallationHistory, probe: StaticProbe, runner: RecordingRunner
) -> None:
    install_id = _install_redis_and_upgrade_curl(ledger, probe)
    ok, message = ledger.rollback(install_id)
    assert ok, message
    assert runner.commands == [
        ["apt-get", "remove", "-y", "redis"],
        ["apt-get", "install", "-y", "--allow-downgrades", "curl=7.88.1-10"],
    ]
    record = ledger.get_installation(install_id)
    assert record is not None
    assert record.status is InstallationStatus.ROLLED_BACK
    assert record.rollback_available is False
    (rollback,) = ledger.get_history(status_filter=InstallationStatus.SUCCESS)
    assert rollback.operation_type is InstallationType.ROLLBACK
    assert ledger.rollback(install_id) == (
        False,
        "Cannot roll back an installation with status rolled_back",
    )
    assert len(runner.commands) == 2


def test_a_failed_rollback_can_be_retried(tmp_path: Path, probe: StaticProbe) -> None:
    runner = RecordingRunner(fail="redis")
    ledger = InstallationHistory(str(tmp_path / "h.db"), probe=probe, runner=runner)
    install_id = _install_redis_and_upgrade_curl(ledger, probe)
    ok, message = ledger.rollback(install_id)
    assert not ok
    assert "Unable to locate package redis" in message
    record = ledger.get_installation(install_id)
    assert record is not None
    assert record.status is InstallationStatus.SUCCESS
    assert record.rollback_available is True
    (failed,) = ledger.get_history(status_filter=InstallationStatus.FAILED)
    assert failed.operation_type is InstallationType.ROLLBACK


def test_rollback_refusals(ledger: InstallationHistory, probe: StaticProbe) -> None:
    assert ledger.rollback("nope") == (False, "Installation nope not found")
    running = ledger.record_installation(InstallationType.INSTALL, ["redis"], [], datetime.now())
    assert ledger.rollback(running)[1] == (
        "Cannot roll back an installation with status in_progress"
    )
    unchanged = ledger.record_installation(InstallationType.INSTALL, ["nginx"], [], datetime.now())
    ledger.update_installation(unchanged, InstallationStatus.SUCCESS)
    assert ledger.rollback(unchanged) == (
        False,
        "Nothing to roll back: the package state did not change",
    )


def test_hostile_snapshots_give_no_commands() -> None:
    record = InstallationRecord(
        id="x",
        timestamp="2025-01-01T00:00:00",
        operation_type=InstallationType.UPGRADE,
        packages=["curl", "a b"],
        status=InstallationStatus.SUCCESS,
        before_snapshot=[
            PackageSnapshot("curl", "1.0; reboot", "installed"),
            PackageSnapshot("a b", "not-installed", "not-installed"),
        ],
        after_snapshot=[
            PackageSnapshot("curl", "2.0", "installed"),
            PackageSnapshot("a b", "1", "installed"),
        ],
        commands_executed=[],
    )
    assert InstallationHistory.rollback_commands(record) == []


def _upstream_rollback(ledger: InstallationHistory, install_id: str) -> None:
    """The twin: check, run, then mark, with no claim in between."""
    record = ledger.get_installation(install_id)
    if record is None or not record.rollback_available:
        return
    for argv in ledger.rollback_commands(record):
        ledger.runner.run(argv)
    with ledger._pool.get_connection() as conn:
        conn.execute("UPDATE installations SET rollback_available = 0 WHERE id = ?", (install_id,))


@pytest.mark.stress
@pytest.mark.parametrize("upstream", [False, True], ids=["claimed", "upstream-twin"])
def test_32_threads_rolling_back_one_record_run_it_once(
    tmp_path: Path, probe: StaticProbe, upstream: bool
) -> None:
    runner = RecordingRunner(delay=0.01)
    ledger = InstallationHistory(str(tmp_path / "h.db"), probe=probe, runner=runner)
    install_id = _install_redis_and_upgrade_curl(ledger, probe)
    if upstream:
        run_together(lambda _i: _upstream_rollback(ledger, install_id), 32)
        assert len(runner.commands) > 2
    else:
        results = run_together(lambda _i: ledger.rollback(install_id), 32)
        assert sum(ok for ok, _ in results) == 1
        assert len(runner.commands) == 2


# -- export and cleanup ------------------------------------------------------------------


def test_export_json_and_csv_round_trip(
    ledger: InstallationHistory, probe: StaticProbe, tmp_path: Path
) -> None:
    _install_redis_and_upgrade_curl(ledger, probe)
    ledger.record_installation(
        InstallationType.REMOVE, ["nginx"], ["apt-get remove nginx"], datetime.now()
    )
    records = ledger.get_history(limit=0)
    json_path = tmp_path / "out.json"
    ledger.export_history(str(json_path))
    assert json.loads(json_path.read_text()) == [r.to_dict() for r in records]
    assert stat.S_IMODE(json_path.stat().st_mode) == 0o600
    csv_path = tmp_path / "out.csv"
    ledger.export_history(str(csv_path), format="csv")
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:5] == ["ID", "Timestamp", "Operation", "Packages", "Status"]
    assert [row["ID"] for row in rows] == [r.id for r in records]
    for row, record in zip(rows, records, strict=True):
        assert json.loads(row["Packages"]) == record.packages
        assert json.loads(row["Commands Executed"]) == record.commands_executed
        assert row["Status"] == record.status.value
        assert row["Operation"] == record.operation_type.value
        assert [d["version"] for d in json.loads(row["Before Snapshot"])] == [
            s.version for s in record.before_snapshot
        ]
    with pytest.raises(ValueError, match="unknown export format"):
        ledger.export_history(str(tmp_path / "out.xml"), format="xml")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_cleanup_old_records(ledger: InstallationHistory) -> None:
    now = datetime.now()
    old = [
        ledger.record_installation(InstallationType.INSTALL, ["nginx"], [], now - timedelta(days=d))
        for d in (91, 120, 400)
    ]
    recent = [
        ledger.record_installation(InstallationType.INSTALL, ["nginx"], [], now - timedelta(days=d))
        for d in (0, 10, 89)
    ]
    assert ledger.cleanup_old_records() == 3
    assert {r.id for r in ledger.get_history(limit=0)} == set(recent)
    assert all(ledger.get_installation(i) is None for i in old)
    assert ledger.cleanup_old_records(days=5) == 2


# -- concurrency -------------------------------------------------------------------------


def _mixed(ledger: InstallationHistory, threads: int, per_thread: int) -> tuple[int, int, int]:
    errors: list[str] = []

    def work(index: int) -> int:
        misses = 0
        for i in range(per_thread):
            try:
                install_id = ledger.record_installation(
                    InstallationType.INSTALL, ["redis"], [f"t{index} #{i}"], datetime.now()
                )
                ledger.update_installation(install_id, InstallationStatus.SUCCESS)
                record = ledger.get_installation(install_id)
                misses += record is None or record.status is not InstallationStatus.SUCCESS
                ledger.get_history(limit=5)
            except Exception as exc:  # counted
                errors.append(type(exc).__name__)
        return misses

    misses = sum(run_together(work, threads))
    raw = sqlite3.connect(ledger.db_path)
    try:
        (done,) = raw.execute(
            "SELECT count(*) FROM installations WHERE status = 'success'"
        ).fetchone()
    finally:
        raw.close()
    return done, misses, len(errors)


@pytest.mark.stress
def test_32_threads_mixed_reads_and_writes(ledger: InstallationHistory) -> None:
    assert _mixed(ledger, 32, 4) == (128, 0, 0)
    assert len(ledger.get_history(limit=0)) == 128


@pytest.mark.twin
@pytest.mark.stress
def test_the_same_check_fails_on_upstreams_pool(ledger: InstallationHistory) -> None:
    leaky = LeakyPool(ledger.db_path, pool_size=5, timeout=0.02)
    ledger._pool = leaky  # type: ignore[assignment]
    try:
        done, misses, errors = _mixed(ledger, 32, 2)
    finally:
        leaky.close_all()
    assert (done, misses, errors) != (64, 0, 0)
    assert done < 64


_CHILD = """
import sys
from datetime import datetime
from cortex.demos.sqlite import LeakyPool
from tests.support.fakes import StaticProbe
from cortex.installation_history import InstallationHistory, InstallationStatus, InstallationType
from cortex.utils.db_pool import close_all_pools

path, worker, count, leaky = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ledger = InstallationHistory(path, probe=StaticProbe())
if leaky == "1":
    ledger._pool = LeakyPool(path, timeout=0.02)
failed = 0
for i in range(count):
    try:
        install_id = ledger.record_installation(
            InstallationType.INSTALL, ["redis"], [f"p{worker} {i}"], datetime.now()
        )
        ledger.update_installation(install_id, InstallationStatus.SUCCESS)
    except Exception:
        failed += 1
if leaky == "1":
    ledger._pool.close_all()
close_all_pools()
print(failed)
"""


@pytest.mark.stress
@pytest.mark.parametrize(("leaky", "holds"), [("0", True), ("1", False)], ids=["pool", "twin"])
def test_several_processes_write_with_nothing_lost(tmp_path: Path, leaky: str, holds: bool) -> None:
    path = tmp_path / "shared.db"
    InstallationHistory(str(path), probe=StaticProbe())
    close_all_pools()
    outputs = run_python_processes(_CHILD, [[str(path), str(w), "25", leaky] for w in range(4)])
    failures = sum(int(out) for out, _err in outputs)
    raw = sqlite3.connect(path)
    try:
        (rows,) = raw.execute(
            "SELECT count(*) FROM installations WHERE status = 'success'"
        ).fetchone()
    finally:
        raw.close()
    assert (rows == 100 and failures == 0) is holds, (rows, failures)


# -- existing upstream databases ----------------------------------------------------------

_UPSTREAM_SCHEMA = """
CREATE TABLE IF NOT EXISTS installations (
    id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, operation_type TEXT NOT NULL,
    packages TEXT NOT NULL, status TEXT NOT NULL, before_snapshot TEXT, after_snapshot TEXT,
    commands_executed TEXT, error_message TEXT, rollback_available INTEGER,
    duration_seconds REAL
);
CREATE INDEX IF NOT EXISTS idx_timestamp ON installations(timestamp);
"""


@pytest.mark.twin
def test_an_upstream_database_opens_with_every_row(
    tmp_path: Path, probe: StaticProbe, runner: RecordingRunner
) -> None:
    path = tmp_path / "history.db"
    snap = {"package_name": "nginx", "version": "not-installed", "status": "not-installed",
            "dependencies": [], "config_files": []}  # fmt: skip
    after = {**snap, "version": "1.22.1-9", "status": "installed"}
    rows = [
        (
            f"{i:016x}",
            f"2025-12-0{i}T09:00:00.123456",
            "install",
            json.dumps(["nginx"]),
            "success" if i != 2 else "failed",
            json.dumps([snap]),
            json.dumps([after]) if i != 3 else None,
            json.dumps(["sudo apt-get install -y nginx"]),
            None if i != 2 else "E: broken",
            1 if i != 1 else None,
            3.25 if i != 3 else None,
        )
        for i in range(1, 5)
    ]
    raw = sqlite3.connect(path)
    raw.executescript(_UPSTREAM_SCHEMA)
    raw.executemany("INSERT INTO installations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    raw.commit()
    raw.close()
    ledger = InstallationHistory(str(path), probe=probe, runner=runner)
    records = ledger.get_history()
    assert [r.id for r in records] == [f"{i:016x}" for i in (4, 3, 2, 1)]
    by_id = {r.id: r for r in records}
    assert by_id[f"{2:016x}"].error_message == "E: broken"
    assert by_id[f"{3:016x}"].after_snapshot == []
    assert by_id[f"{1:016x}"].rollback_available is True
    ok, message = ledger.rollback(f"{4:016x}", dry_run=True)
    assert (ok, message) == (True, "Would run:\napt-get remove -y nginx")
    ledger.record_installation(InstallationType.INSTALL, ["redis"], [], datetime.now())
    assert len(ledger.get_history(limit=0)) == 5
