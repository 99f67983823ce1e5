"""The shared file primitives: atomic write, the per-path lock and locked read-modify-write.

Every concurrency check runs twice: on the fix, where it must give the exact count, and on
the unsafe twin from :mod:`cortex.demos.files`, where it must fail.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cortex.demos.files import (
    count_in_processes,
    count_in_threads,
    torn_reads,
    unsafe_write_text,
)
from cortex.demos.harness import run_together
from cortex.demos.ledger import LEDGER
from cortex.utils.atomic_file import atomic_write_bytes, atomic_write_text, ensure_private_dir
from cortex.utils.file_lock import FileLockTimeout, lock_file_for, path_lock
from cortex.utils.locked_file import (
    CorruptFileError,
    read_json,
    read_yaml,
    update_json,
    update_yaml,
    write_json,
)

REPO = Path(__file__).resolve().parent.parent


def _leftover_temp_files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------


def test_atomic_write_creates_0600_and_keeps_existing_permissions(tmp_path: Path) -> None:
    new = tmp_path / "new.json"
    atomic_write_text(new, "{}")
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    shared = tmp_path / "shared.json"
    shared.write_text("old")
    shared.chmod(0o644)
    atomic_write_text(shared, "new")
    assert shared.read_text() == "new"
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644
    assert _leftover_temp_files(tmp_path) == []


def test_a_failed_rename_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "data.json"
    target.write_text('{"old": true}')

    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr("os.replace", refuse)
    with pytest.raises(PermissionError):
        atomic_write_text(target, '{"new": true}')
    assert target.read_text() == '{"old": true}'
    assert _leftover_temp_files(tmp_path) == []


def test_an_unwritable_directory_raises_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores chmod, so "unwritable" is simulated: mkstemp refuses, as it would.
    target = tmp_path / "data.json"
    write_json(target, {"n": 1})

    def refuse(*_args: object, **_kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(PermissionError):
        update_json(target, lambda d: {**d, "n": 2})
    monkeypatch.undo()
    assert read_json(target) == {"n": 1}
    # The lock was released by the failure: the next update goes through at once.
    assert update_json(target, lambda d: {**d, "n": 3}, timeout=1) == {"n": 3}


def test_a_parent_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("I am a file")
    with pytest.raises(NotADirectoryError):
        atomic_write_bytes(blocker / "data.json", b"{}")
    with pytest.raises(NotADirectoryError):
        ensure_private_dir(blocker)
    with pytest.raises(OSError, match="not-a-dir"):
        update_json(blocker / "data.json", lambda d: d, timeout=1)
    assert blocker.read_text() == "I am a file"


def test_ensure_private_dir_creates_0700_and_keeps_an_existing_mode(tmp_path: Path) -> None:
    created = ensure_private_dir(tmp_path / "a" / ".cortex")
    assert stat.S_IMODE(created.stat().st_mode) == 0o700
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    ensure_private_dir(existing)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755


# --------------------------------------------------------------------------------------
# the per-path lock
# --------------------------------------------------------------------------------------


def test_one_lock_object_per_normalised_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "prefs.yaml"
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    monkeypatch.chdir(tmp_path)
    lock = path_lock(target)
    spellings: list[str | Path] = [
        "prefs.yaml",
        "sub/../prefs.yaml",
        str(link / "prefs.yaml"),
        target,
    ]
    assert all(path_lock(s) is lock for s in spellings)
    assert path_lock(tmp_path / "other.yaml") is not lock
    assert lock_file_for(target) == tmp_path / ".prefs.yaml.lock"
    locks = run_together(lambda _i: path_lock(target), 50)
    assert {id(x) for x in locks} == {id(lock)}


def test_the_lock_is_reentrant_within_a_thread(tmp_path: Path) -> None:
    lock = path_lock(tmp_path / "f.json")
    with lock, lock:
        assert lock.held_by_this_thread()
    assert not lock.held_by_this_thread()


def test_the_lock_excludes_threads(tmp_path: Path) -> None:
    lock = path_lock(tmp_path / "f.json")
    inside = [0, 0]  # current, most seen at once: only touched under the lock

    def work(_i: int) -> None:
        for _ in range(5):
            with lock:
                inside[0] += 1
                inside[1] = max(inside[1], inside[0])
                time.sleep(0.0005)
                inside[0] -= 1

    run_together(work, 20)
    assert inside == [0, 1]


_HOLDER = """
import sys
from cortex.utils.file_lock import path_lock
lock = path_lock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_the_lock_excludes_another_process_and_dies_with_it(tmp_path: Path) -> None:
    target = tmp_path / "prefs.yaml"
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FileLockTimeout, match=r"prefs\.yaml"):
            path_lock(target).acquire(timeout=0.2)
        holder.kill()  # SIGKILL: the kernel drops its flock
        holder.wait()
    lock = path_lock(target)
    lock.acquire(timeout=5)
    lock.release()


# --------------------------------------------------------------------------------------
# lost updates: threads and processes, fix and twin
# --------------------------------------------------------------------------------------


def test_threads_with_their_own_instances_lose_no_update(tmp_path: Path) -> None:
    assert count_in_threads("safe", tmp_path / "c.json", threads=8, increments=10) == 80


@pytest.mark.twin
def test_the_same_check_catches_per_instance_locks(tmp_path: Path) -> None:
    assert count_in_threads("unsafe", tmp_path / "c.json", threads=8, increments=10) < 80


def test_processes_lose_no_update(tmp_path: Path) -> None:
    assert count_in_processes("safe", tmp_path / "c.json", processes=3, increments=15) == 45


@pytest.mark.twin
def test_the_same_check_catches_unlocked_processes(tmp_path: Path) -> None:
    # Enough updates that the processes overlap whatever their start-up skew.
    assert count_in_processes("unsafe", tmp_path / "c.json", processes=3, increments=400) < 1200


# --------------------------------------------------------------------------------------
# torn reads
# --------------------------------------------------------------------------------------


def test_readers_never_see_a_torn_atomic_write(tmp_path: Path) -> None:
    outcome = torn_reads(atomic_write_text, tmp_path / "cache.json", writes=30)
    assert outcome.reads > 0
    assert outcome.torn == 0


@pytest.mark.twin
def test_the_same_check_catches_in_place_writes(tmp_path: Path) -> None:
    outcome = torn_reads(unsafe_write_text, tmp_path / "cache.json", writes=30)
    assert outcome.torn > 0


# --------------------------------------------------------------------------------------
# corrupt, empty, huge and non-UTF-8 inputs
# --------------------------------------------------------------------------------------


def _untouched_after_update(path: Path, update: Any) -> CorruptFileError:
    before = path.read_bytes()
    with pytest.raises(CorruptFileError) as caught:
        update(path, lambda d: {**d, "touched": True})
    assert path.read_bytes() == before
    assert _leftover_temp_files(path.parent) == []
    return caught.value


def test_corrupt_json_names_file_and_line_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text('{\n  "a": 1,\n  "b": \n}\n')
    error = _untouched_after_update(path, update_json)
    assert error.path == path
    assert error.line == 4
    assert f"{path}, line 4" in str(error)


def test_an_empty_json_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    path.write_bytes(b"")
    error = _untouched_after_update(path, update_json)
    assert "empty" in str(error)


def test_non_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    for name, update in (("a.json", update_json), ("a.yaml", update_yaml)):
        path = tmp_path / name
        path.write_bytes(b'{"ok": 1,\n "bad": "\xff\xfe"}\n')
        error = _untouched_after_update(path, update)
        assert "UTF-8" in str(error)
        assert error.line == 2


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "preferences.yaml"
    path.write_text("theme: dark\nverbose: [unclosed\nother: 1\n")
    error = _untouched_after_update(path, update_yaml)
    assert error.line is not None
    assert error.line >= 2
    assert str(path) in str(error)


def test_a_document_of_the_wrong_shape_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "prefs.yaml"
    path.write_text("- a\n- b\n")
    error = _untouched_after_update(path, update_yaml)
    assert "expected a dict" in str(error)


def test_empty_yaml_is_an_empty_document(tmp_path: Path) -> None:
    path = tmp_path / "prefs.yaml"
    path.write_text("")
    assert read_yaml(path, default={}) == {}
    assert update_yaml(path, lambda d: {**d, "x": 1}) == {"x": 1}


def test_a_huge_file_round_trips_and_an_oversized_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    big = {"items": ["x" * 100] * 50_000}  # about 5 MB
    write_json(path, big)
    assert update_json(path, lambda d: {**d, "n": 1})["items"] == big["items"]
    with pytest.raises(CorruptFileError, match="byte limit"):
        read_json(path, max_bytes=1024)
    assert json.loads(path.read_text())["n"] == 1


def test_missing_files_give_the_default(tmp_path: Path) -> None:
    assert read_json(tmp_path / "none.json", default={}) == {}
    assert read_yaml(tmp_path / "none.yaml") is None
    assert update_json(tmp_path / "list.json", lambda h: [*h, 1], default=list) == [1]
    assert os.stat(tmp_path / "list.json").st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------------------
# symlinks: written through, the link kept, the lock beside the link
# --------------------------------------------------------------------------------------


def _linked_preferences(tmp_path: Path, *, dangling: bool) -> tuple[Path, Path, Path]:
    """``(cortex dir, the link preferences.yaml, the file it points to outside it)``."""
    from cortex.config_manager import ConfigManager

    home = tmp_path / ".cortex"
    elsewhere = tmp_path / "dotfiles"
    elsewhere.mkdir()
    target = elsewhere / "cortex-preferences.yaml"
    if not dangling:
        target.write_text("theme: dark\n", encoding="utf-8")
        os.chmod(target, 0o640)  # the user's own choice, kept
    ConfigManager(config_dir=home)  # creates the directory
    link = home / "preferences.yaml"
    link.symlink_to(target)
    return home, link, target


@pytest.mark.parametrize("dangling", [False, True], ids=["link-to-file", "dangling-link"])
def test_a_symlinked_preference_file_is_written_through_and_stays_a_link(
    tmp_path: Path, dangling: bool
) -> None:
    from cortex.config_manager import ConfigManager

    home, link, target = _linked_preferences(tmp_path, dangling=dangling)
    manager = ConfigManager(config_dir=home)
    manager.set_preference("editor", "vim")
    assert link.is_symlink()  # not replaced by a regular file
    assert os.readlink(link) == str(target)
    expected = {"editor": "vim"} if dangling else {"theme": "dark", "editor": "vim"}
    assert manager.load_preferences() == expected
    assert ConfigManager(config_dir=home).load_preferences() == expected
    assert stat.S_IMODE(target.stat().st_mode) == (0o600 if dangling else 0o640)
    # The lock file is beside the link, inside the Cortex directory, and private.
    assert lock_file_for(link) == home / ".preferences.yaml.lock"
    assert (home / ".preferences.yaml.lock").exists()
    assert stat.S_IMODE((home / ".preferences.yaml.lock").stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # nothing else
    LEDGER.add("bad input", bad_inputs=1)


@pytest.mark.parametrize("dangling", [False, True], ids=["link-to-file", "dangling-link"])
def test_a_symlinked_hardware_cache_is_written_through(tmp_path: Path, dangling: bool) -> None:
    from cortex.hardware_detection import HardwareDetector, SystemInfo

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "cache.json"
    if not dangling:
        target.write_text("{}", encoding="utf-8")
    link = tmp_path / "hardware_cache.json"
    link.symlink_to(target)
    detector = HardwareDetector(cache_path=link)
    detector._detect_uncached = lambda: SystemInfo(hostname="x")  # type: ignore[method-assign]
    detector.detect()
    assert link.is_symlink()
    assert json.loads(target.read_text(encoding="utf-8"))["system_info"]["hostname"] == "x"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["cache.json"]  # no lock file there
    LEDGER.add("bad input", bad_inputs=1)


def test_a_symlink_loop_or_a_missing_directory_is_an_error_naming_the_link(
    tmp_path: Path,
) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(tmp_path / "loop.json")
    with pytest.raises(OSError, match=r"loop\.json"):
        atomic_write_text(loop, "{}")
    assert loop.is_symlink()
    nowhere = tmp_path / "nowhere.json"
    nowhere.symlink_to(tmp_path / "missing-dir" / "x.json")
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json") as caught:
        atomic_write_text(nowhere, "{}")
    assert "missing-dir" in str(caught.value)
    assert nowhere.is_symlink()
    LEDGER.add("bad input", bad_inputs=2)
