"""Crash safety of the SQLite stores: SIGKILL at random moments loses no committed transaction.

A fresh, single-threaded helper process (``python -m tests.support.crash``) forks one writer
per trial. The writer commits transactions in a loop and acknowledges each one on a pipe
*after* it committed; the helper waits for the first acknowledgement, sleeps a random
0-10 ms (seeded) and kills the writer with ``SIGKILL``. After every kill the database must
pass ``PRAGMA integrity_check``, hold every transaction acknowledged so far (all trials of
the helper share one file, so each recovery runs on top of the earlier ones) and hold no
transaction in part. Two helpers run at once (one per core).

Stores: rows through a :class:`~cortex.utils.db_pool.SQLiteConnectionPool` and records
through :meth:`~cortex.installation_history.InstallationHistory.record_installation`.
Trial counts: 100 kills per store, plus 40 for the unsafe twin (a writer that acknowledges
before its commit), which must lose acknowledged rows: 240 kills in all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cortex.demos.ledger import LEDGER, area_for
from tests.support.crash import KINDS

REPO = Path(__file__).resolve().parent.parent
HELPERS = 2


def _run_helpers(kind: str, directory: Path, trials_per_helper: int) -> list[list[dict[str, Any]]]:
    """Two helpers (seeds 0 and 1), each on its own database; each helper's outcomes.

    The kills, processes, acknowledged transactions and losses go into the ledger.
    """

    def helper(index: int) -> list[dict[str, Any]]:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.support.crash",
                kind,
                str(directory / f"helper-{index}"),
                str(trials_per_helper),
                str(index),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            check=True,
        )
        document = json.loads(completed.stdout)
        assert document["kind"] == kind
        trials: list[dict[str, Any]] = document["trials"]
        return trials

    with ThreadPoolExecutor(max_workers=HELPERS) as pool:
        per_helper = list(pool.map(helper, range(HELPERS)))
    kills = sum(len(trials) for trials in per_helper)
    LEDGER.add(
        area_for("sqlite", fixed=kind != "early-ack"),
        processes=kills + HELPERS,  # one writer per trial, plus the helpers
        operations=sum(trials[-1]["acked_total"] for trials in per_helper),
        faults=kills,
        # `lost` is cumulative within a helper: the last trial's count is the helper's loss.
        data_lost=sum(trials[-1]["lost"] for trials in per_helper),
    )
    return per_helper


@pytest.mark.parametrize("kind", ["sqlite", "history"])
def test_100_killed_writers_lose_no_committed_transaction(tmp_path: Path, kind: str) -> None:
    per_helper = _run_helpers(kind, tmp_path, 50)
    outcomes = [o for trials in per_helper for o in trials]
    assert len(outcomes) == 100
    assert {o["integrity"] for o in outcomes} == {"ok"}
    assert [o for o in outcomes if o["lost"] or o["partial"]] == []
    for trials in per_helper:
        assert all(o["acked"] >= 1 for o in trials)  # every writer committed before its kill
        assert trials[-1]["acked_total"] == sum(o["acked"] for o in trials)
    # Not vacuous: some kills landed inside an open transaction (after its first write,
    # before its commit), and recovery rolled it back.
    assert any(o["in_flight"] == "open" and not o["in_flight_committed"] for o in outcomes)


@pytest.mark.twin
def test_the_same_check_catches_an_acknowledgement_sent_before_commit(tmp_path: Path) -> None:
    per_helper = _run_helpers("early-ack", tmp_path, 20)
    outcomes = [o for trials in per_helper for o in trials]
    assert len(outcomes) == 40
    # The twin loses transactions its caller was told were stored...
    assert sum(trials[-1]["lost"] for trials in per_helper) > 0
    # ...while SQLite itself stays consistent: what is lost is the promise, not the file.
    assert {o["integrity"] for o in outcomes} == {"ok"}
    assert all(o["partial"] == 0 for o in outcomes)


def test_the_driver_refuses_an_unknown_kind(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.support.crash", "nope", str(tmp_path), "1", "0"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert "unknown kind 'nope'" in completed.stderr
    assert "early-ack" in KINDS
