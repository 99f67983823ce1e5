"""Crash safety: a writer killed with SIGKILL at a random moment never leaves a torn file.

A fresh helper process (:func:`tests.support.file_crash.crash_trials`) forks one writer per
trial. The writer rewrites a 200 kB file in a loop; the helper waits for its first
complete write, sleeps a random 0-10 ms and kills it with ``SIGKILL``: no ``finally``, no
``atexit``, no flush. The file must then parse and hold either the old document or the new
one. Two helpers run at once (one per core). The same check on the in-place twin must
find torn files.

Trial counts: 100 atomic writes, 100 locked counter updates (two files, 50 kills each) and
40 in-place twin writes: 240 kills in all.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cortex.demos.ledger import LEDGER
from cortex.utils.file_lock import path_lock
from cortex.utils.locked_file import read_json

REPO = Path(__file__).resolve().parent.parent
HELPER = "from tests.support.file_crash import crash_trials_main; crash_trials_main()"


def _run_helpers(kind: str, directory: Path, trials_per_helper: int) -> list[dict[str, Any]]:
    """Two helper processes, ``trials_per_helper`` kills each; every outcome, in order."""

    def helper(index: int) -> list[dict[str, Any]]:
        folder = directory / f"helper-{index}"
        completed = subprocess.run(
            [sys.executable, "-c", HELPER, kind, str(folder), str(trials_per_helper), str(index)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            check=True,
        )
        outcomes: list[dict[str, Any]] = json.loads(completed.stdout)
        return outcomes

    with ThreadPoolExecutor(max_workers=2) as pool:
        found = [o for outcomes in pool.map(helper, range(2)) for o in outcomes]
    # Each trial forks one writer and kills it (one fault); plus the two helpers. A torn
    # file is data lost (the in-place twin's rows go under "files (twins)").
    LEDGER.add(
        "files (twins)" if kind == "inplace" else "files",
        processes=len(found) + 2,
        operations=len(found),
        faults=len(found),
        data_lost=sum(o["state"] == "torn" for o in found),
    )
    return found


def test_100_killed_atomic_writers_leave_old_or_new_content(tmp_path: Path) -> None:
    outcomes = _run_helpers("atomic", tmp_path, 50)
    states = [o["state"] for o in outcomes]
    assert len(states) == 100
    assert set(states) <= {"old", "new"}
    # Not vacuous: kills landed both between writes and inside them (a temporary file was
    # left behind, which nothing reads).
    assert "old" in states
    assert "new" in states
    assert any(o["temp_left"] for o in outcomes)


@pytest.mark.twin
def test_the_same_check_catches_in_place_writes(tmp_path: Path) -> None:
    outcomes = _run_helpers("inplace", tmp_path, 20)
    assert len(outcomes) == 40
    assert sum(o["state"] == "torn" for o in outcomes) > 0


def test_100_killed_locked_updates_never_tear_and_never_go_back(tmp_path: Path) -> None:
    outcomes = _run_helpers("update", tmp_path, 50)
    assert len(outcomes) == 100
    assert {o["state"] for o in outcomes} == {"ok"}
    for helper in range(2):
        counters = [o["counter"] for o in outcomes[50 * helper : 50 * (helper + 1)]]
        # Every writer's first update landed and none was undone by a later kill.
        assert all(b >= a + 1 for a, b in itertools.pairwise(counters))
        assert counters[0] >= 1
        path = tmp_path / f"helper-{helper}" / "counter.json"
        assert read_json(path)["counter"] == counters[-1]
        # The killed holders' flock died with them: the lock is free at once.
        lock = path_lock(path)
        lock.acquire(timeout=2)
        lock.release()
