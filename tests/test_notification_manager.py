"""NotificationManager: DND window, bounded history on disk, safe across threads and processes."""

from __future__ import annotations

import json
import logging
import multiprocessing
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import cortex.notification_manager as nm
from cortex.demos.files import UnsafeJsonFile
from cortex.demos.harness import run_together
from cortex.notification_manager import NotificationManager
from cortex.utils.locked_file import CorruptFileError
from tests.support.locks import lock_held_elsewhere


class FakeDesktop:
    """Collects notify-send argument lists."""

    def __init__(self, available: bool = True) -> None:
        self.calls: list[list[str]] = []
        self.available = available

    def __call__(self, argv: Sequence[str]) -> bool:
        self.calls.append(list(argv))
        return self.available


def _at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 1, 15, hours, minutes)


def _manager(directory: Path, now: str = "12:00", **kwargs: Any) -> NotificationManager:
    kwargs.setdefault("notifier", FakeDesktop())
    return NotificationManager(config_dir=directory, clock=lambda: _at(now), **kwargs)


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.mark.parametrize(
    ("start", "end", "now", "active"),
    [
        ("22:00", "08:00", "21:59", False),
        ("22:00", "08:00", "22:00", True),
        ("22:00", "08:00", "23:30", True),
        ("22:00", "08:00", "23:59", True),
        ("22:00", "08:00", "00:00", True),
        ("22:00", "08:00", "07:59", True),
        ("22:00", "08:00", "08:00", False),
        ("22:00", "08:00", "12:00", False),
        ("13:00", "14:00", "13:00", True),
        ("13:00", "14:00", "14:00", False),
        ("09:00", "09:00", "09:00", False),
    ],
)
def test_dnd_window(tmp_path: Path, start: str, end: str, now: str, active: bool) -> None:
    manager = _manager(tmp_path, now)
    manager.set_dnd(start, end)
    assert manager.is_dnd_active() is active


def test_dnd_holds_across_midnight(tmp_path: Path) -> None:
    """One manager, its clock moving from 21:59 over midnight to 08:00: DND follows it."""
    minutes = ["15 21:59", "15 22:00", "15 23:59", "16 00:00", "16 07:59", "16 08:00"]
    now = [datetime(2026, 1, 15, 21, 59)]

    def clock() -> datetime:
        return now[0]

    manager = NotificationManager(config_dir=tmp_path, clock=clock, notifier=FakeDesktop())
    seen = []
    for minute in minutes:
        now[0] = datetime.strptime(f"2026-01-{minute}", "%Y-%m-%d %H:%M")
        seen.append(manager.is_dnd_active())
    assert seen == [False, True, True, True, True, False]


def test_send_shows_with_an_argument_list_and_records(tmp_path: Path) -> None:
    desktop = FakeDesktop()
    manager = _manager(tmp_path, notifier=desktop)
    assert manager.send("-rf title", "body; rm -rf /", level="critical", actions=["Open"])
    assert desktop.calls == [
        ["--urgency", "critical", "--app-name", "Cortex", "--", "-rf title", "body; rm -rf /"]
    ]
    [entry] = manager.get_history()
    assert entry["status"] == "shown"
    assert entry["actions"] == ["Open"]
    assert stat.S_IMODE(manager.history_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) in {0o700, stat.S_IMODE(tmp_path.stat().st_mode)}


def test_dnd_suppresses_all_but_critical(tmp_path: Path) -> None:
    desktop = FakeDesktop()
    manager = _manager(tmp_path, "23:00", notifier=desktop)
    assert not manager.send("a", "b")
    assert manager.send("c", "d", level="critical")
    manager.update_config(critical_bypasses_dnd=False)
    assert not manager.send("e", "f", level="critical")
    assert [e["status"] for e in manager.get_history()] == ["suppressed", "shown", "suppressed"]
    assert len(desktop.calls) == 1


def test_disabled_and_missing_notify_send_only_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = _manager(tmp_path, notifier=FakeDesktop(available=False))
    assert not manager.send("a", "b")
    manager.update_config(enabled=False)
    assert not manager.send("c", "d")
    assert [e["status"] for e in manager.get_history()] == ["recorded", "disabled"]
    monkeypatch.setattr("shutil.which", lambda _name: None)
    assert nm.notify_send(["x"]) is False


def test_bad_arguments(tmp_path: Path) -> None:
    manager = _manager(tmp_path)
    with pytest.raises(ValueError, match="level"):
        manager.send("a", "b", level="urgent")
    with pytest.raises(KeyError):
        manager.update_config(volume=11)
    with pytest.raises(ValueError):  # noqa: PT011 - int() says what is wrong
        manager.set_dnd("late", "08:00")
    with pytest.raises(ValueError, match="history_limit"):
        NotificationManager(config_dir=tmp_path, history_limit=0)


def test_history_is_bounded_in_memory_and_on_disk(tmp_path: Path) -> None:
    manager = _manager(tmp_path, history_limit=10)
    for i in range(25):
        manager.send(f"t{i}", "m")
    assert [e["title"] for e in manager.snapshot()] == [f"t{i}" for i in range(15, 25)]
    assert [e["title"] for e in manager.get_history()] == [f"t{i}" for i in range(15, 25)]
    assert [e["title"] for e in manager.get_history(limit=2)] == ["t23", "t24"]
    reloaded = _manager(tmp_path, history_limit=10)
    assert len(reloaded.history) == 10
    manager.clear_history()
    assert manager.get_history() == []
    assert manager.snapshot() == []


def test_config_changes_from_two_managers_are_both_kept(tmp_path: Path) -> None:
    first, second = _manager(tmp_path), _manager(tmp_path)
    first.set_dnd("21:00", "07:00")
    second.update_config(enabled=False)
    stored = json.loads(first.config_file.read_text())
    assert stored == {"dnd_start": "21:00", "dnd_end": "07:00", "enabled": False}


def test_threads_with_their_own_managers_lose_no_notification(tmp_path: Path) -> None:
    managers = [_manager(tmp_path) for _ in range(8)]
    run_together(lambda i: [managers[i].send(f"t{i}-{n}", "m") for n in range(10)], 8)
    history = _manager(tmp_path).get_history()
    assert len(history) == 80
    assert len({e["title"] for e in history}) == 80


@pytest.mark.twin
def test_the_same_check_catches_a_per_instance_lock(tmp_path: Path) -> None:
    # Upstream appended to the history with a read-modify-write under a per-instance
    # lock and an in-place write: the twin is that pattern on a counter.
    path = tmp_path / "notification_history.json"
    stores = [UnsafeJsonFile(path) for _ in range(8)]

    def send_ten(index: int) -> None:
        for _ in range(10):
            stores[index].increment()

    run_together(send_ten, 8)
    assert UnsafeJsonFile(path).read().get("counter", 0) < 80


def _send_from_process(directory: str, index: int, count: int, barrier: Any) -> None:
    manager = NotificationManager(config_dir=directory, notifier=lambda _argv: True)
    barrier.wait(timeout=60)
    for n in range(count):
        manager.send(f"p{index}-{n}", "m")


def test_processes_lose_no_notification(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    workers = [
        context.Process(target=_send_from_process, args=(str(tmp_path), i, 15, barrier))
        for i in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    for worker in workers:
        worker.close()
    titles = [e["title"] for e in _manager(tmp_path).get_history()]
    assert sorted(titles) == sorted(f"p{i}-{n}" for i in range(3) for n in range(15))


def test_a_corrupt_history_is_reported_once_left_untouched_and_memory_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    history = tmp_path / "notification_history.json"
    history.write_bytes(b'[{"title": "half')
    with caplog.at_level(logging.WARNING, logger="cortex.notification_manager"):
        manager = _manager(tmp_path)
        for n in range(5):
            manager.send(f"t{n}", "m")
    warnings = [r for r in caplog.records if "notification_history.json" in r.getMessage()]
    assert len(warnings) == 1
    assert history.read_bytes() == b'[{"title": "half'
    assert [e["title"] for e in manager.get_history()] == [f"t{n}" for n in range(5)]
    with pytest.raises(CorruptFileError):
        manager.clear_history()


def test_a_corrupt_config_falls_back_to_defaults(tmp_path: Path) -> None:
    (tmp_path / "notification_config.json").write_bytes(b"\xff\xfe")
    manager = _manager(tmp_path, "23:00")
    assert manager.config["dnd_start"] == "22:00"
    assert manager.is_dnd_active()
    manager.config["dnd_start"] = "nonsense"
    assert manager.is_dnd_active() is False


def test_an_unwritable_directory_keeps_notifications_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = _manager(tmp_path)

    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr("os.replace", refuse)
    assert manager.send("a", "b")
    assert [e["title"] for e in manager.snapshot()] == ["a"]
    assert not manager.history_file.exists()


def test_a_send_that_waits_past_the_lock_timeout_is_written_with_the_next(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: a sender whose wait for the history file's lock timed out (another process
    # writing, or a hundred threads queued) kept its record only in memory, and the file,
    # which get_history() reads, lost it for good.
    manager = _manager(tmp_path, lock_timeout=0.2)
    with (
        lock_held_elsewhere(manager.history_file),
        caplog.at_level(logging.WARNING, logger="cortex.notification_manager"),
    ):
        manager.send("while locked", "m")
    assert "notification_history.json" in caplog.text  # reported, naming the file
    manager.send("after", "m")
    on_disk = json.loads(manager.history_file.read_text(encoding="utf-8"))
    assert [e["title"] for e in on_disk] == ["while locked", "after"]


@pytest.mark.stress
def test_100_threads_sending_through_one_manager_all_land(tmp_path: Path) -> None:
    # Under make stress (everything slowed by forced hand-overs) one rewrite per sender
    # pushed the last senders past the lock timeout; batches keep the queue short.
    manager = _manager(tmp_path, history_limit=1000)
    run_together(lambda i: manager.send(f"t{i}", "m"), 100)
    assert sorted(e["title"] for e in manager.get_history()) == sorted(f"t{i}" for i in range(100))
    assert manager._history_writes.pending() == []
