"""BatchedUpdate: many threads' appends in few rewrites, none lost, none written twice."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cortex.demos.harness import run_together
from cortex.testing.preempt import preemption
from cortex.utils.batched_update import BatchedUpdate
from cortex.utils.file_lock import FileLockTimeout
from tests.support.locks import lock_held_elsewhere

pytestmark = pytest.mark.thread_unsafe(reason="releases its own threads on one file")


def _append(current: list[Any], records: list[Any]) -> list[Any]:
    return [*current, *records]


def _records(path: Path) -> list[Any]:
    loaded: list[Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_a_lone_submit_is_one_update(tmp_path: Path) -> None:
    updates = BatchedUpdate(tmp_path / "h.json", _append)
    updates.submit("a")
    updates.submit("b")
    assert _records(tmp_path / "h.json") == ["a", "b"]
    assert updates.batches == 2
    assert updates.pending() == []


def test_50_threads_at_once_share_few_rewrites_and_keep_their_order(tmp_path: Path) -> None:
    def slow_append(current: list[Any], records: list[Any]) -> list[Any]:
        time.sleep(0.01)  # a rewrite that takes a while: the others queue meanwhile
        return _append(current, records)

    updates = BatchedUpdate(tmp_path / "h.json", slow_append)

    def send(index: int) -> None:
        for j in range(4):
            updates.submit([index, j])

    run_together(send, 50)
    written = _records(tmp_path / "h.json")
    assert sorted(map(tuple, written)) == [(i, j) for i in range(50) for j in range(4)]
    for index in range(50):  # each thread's records in the order it sent them
        assert [j for i, j in written if i == index] == [0, 1, 2, 3]
    assert updates.batches < 100  # 200 records; one rewrite each would be 200


def test_a_failed_batch_raises_to_its_senders_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    updates = BatchedUpdate(path, _append, timeout=0.2)
    with lock_held_elsewhere(path), pytest.raises(FileLockTimeout):  # past the timeout
        updates.submit("first")
    assert updates.pending() == ["first"]
    updates.submit("second")
    assert _records(path) == ["first", "second"]
    assert updates.pending() == []


def test_while_writes_fail_only_the_newest_records_are_kept(tmp_path: Path) -> None:
    def refuse(current: list[Any], records: list[Any]) -> list[Any]:
        raise OSError("disk full")

    updates = BatchedUpdate(tmp_path / "h.json", refuse, keep_last=3)
    for n in range(10):
        with pytest.raises(OSError, match="disk full"):
            updates.submit(n)
    assert updates.pending() == [7, 8, 9]


def test_flush_writes_what_is_queued_and_discard_forgets_it(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    failing = [True]

    def append_unless_failing(current: list[Any], records: list[Any]) -> list[Any]:
        if failing[0]:
            raise OSError("not now")
        return _append(current, records)

    updates = BatchedUpdate(path, append_unless_failing)
    with pytest.raises(OSError, match="not now"):
        updates.submit("kept")
    failing[0] = False
    updates.flush()
    assert _records(path) == ["kept"]
    failing[0] = True
    with pytest.raises(OSError, match="not now"):
        updates.submit("dropped")
    updates.discard()
    failing[0] = False
    updates.flush()  # nothing queued: no write
    assert _records(path) == ["kept"]


def test_a_sender_waiting_on_a_failed_batch_gets_its_error(tmp_path: Path) -> None:
    started = threading.Event()
    release = threading.Event()

    def first_blocks_then_fails(current: list[Any], records: list[Any]) -> list[Any]:
        if records == ["writer"]:
            started.set()
            release.wait(10)
            raise OSError("failed batch")
        return _append(current, records)

    updates = BatchedUpdate(tmp_path / "h.json", first_blocks_then_fails)
    errors: list[BaseException] = []

    def submit(record: str) -> None:
        try:
            updates.submit(record)
        except OSError as exc:
            errors.append(exc)

    writer = threading.Thread(target=submit, args=("writer",))
    writer.start()
    assert started.wait(10)
    waiter = threading.Thread(target=submit, args=("waiter",))
    waiter.start()
    time.sleep(0.05)  # lets the waiter queue behind the writer (either order is correct)
    release.set()
    writer.join(10)
    waiter.join(10)
    # The writer's batch failed; the waiter then wrote both records itself, or (had it not
    # queued in time) its own after the writer's failure: the file never loses "writer".
    assert len(errors) == 1
    assert set(_records(tmp_path / "h.json")) == {"writer", "waiter"}


@pytest.mark.stress
def test_forced_interleaving_neither_loses_nor_repeats_a_record(
    tmp_path: Path, forced_seed: int
) -> None:
    updates = BatchedUpdate(tmp_path / "h.json", _append)

    def send(index: int) -> None:
        for j in range(5):
            updates.submit([index, j])

    with preemption(0.3, seed=forced_seed, targets=["cortex.utils.batched_update"]):
        run_together(send, 8)
    written = sorted(map(tuple, _records(tmp_path / "h.json")))
    assert written == [(i, j) for i in range(8) for j in range(5)]
