"""File crash trials: writers killed with ``SIGKILL`` at random moments, and what they left.

:func:`crash_trials` runs in a fresh helper process started by ``tests/test_crash_safety.py``;
the in-place writer is the unsafe twin :func:`cortex.demos.files.unsafe_write_text`.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cortex.demos.files import COUNTER_KEY, _document, _lf, unsafe_write_text
from cortex.utils.atomic_file import atomic_write_text

__all__ = ["crash_trials", "crash_trials_main", "crash_writer"]


def crash_writer(path: str, kind: str, size: int, ready: Callable[[], object]) -> None:
    """Rewrite ``path`` until killed; call ``ready()`` once the first write has finished.

    ``kind``: ``"atomic"`` (alternate two documents with an atomic write), ``"inplace"``
    (the same with :func:`unsafe_write_text`) or ``"update"`` (increment a counter with
    :func:`~cortex.utils.locked_file.update_json`). The first document written is the one
    :func:`crash_trials` starts from (the *old* content); the next is the *new* one.
    """
    target = Path(path)
    documents = [_document(1, size), _document(2, size)]

    def add_one(data: dict[str, Any]) -> dict[str, Any]:
        data[COUNTER_KEY] = int(data.get(COUNTER_KEY, 0)) + 1
        return data

    turn = 0
    while True:
        if kind == "atomic":
            atomic_write_text(target, documents[turn % 2])
        elif kind == "inplace":
            unsafe_write_text(target, documents[turn % 2])
        else:
            _lf().update_json(target, add_one)
        if turn == 0:
            ready()
        turn += 1


def _classify(path: Path, kind: str, size: int) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    temp_left = any(p.name.endswith(".tmp") for p in path.parent.iterdir())
    if kind == "update":
        try:
            counter = int(json.loads(text)[COUNTER_KEY])
        except (ValueError, KeyError, TypeError):
            return {"state": "torn", "counter": None, "temp_left": temp_left}
        return {"state": "ok", "counter": counter, "temp_left": temp_left}
    states = {_document(1, size): "old", _document(2, size): "new"}
    return {"state": states.get(text, "torn"), "temp_left": temp_left}


def crash_trials(
    kind: str, directory: str, trials: int, *, size: int = 200_000, seed: int = 0
) -> list[dict[str, Any]]:  # pragma: no cover - runs in a helper process
    """Kill ``trials`` writers with ``SIGKILL`` at random moments; classify what each left.

    Run this in a fresh, single-threaded helper process (``python -c``): it forks one
    writer per trial, which is cheap, and forking a process that has threads is unsafe.
    Each trial waits for the writer's first complete write, sleeps a random 0-10 ms (fixed
    by ``seed``), sends ``SIGKILL`` (no ``finally``, no flush, no ``atexit``) and reads the
    file back.

    ``kind`` ``"atomic"`` and ``"inplace"`` give each trial its own file, which starts as
    the old document; the state is ``"old"``, ``"new"`` or ``"torn"``. ``"update"`` kills
    successive writers of one counter file; the state is ``"ok"`` with the counter, or
    ``"torn"``. ``temp_left`` says whether a temporary file was left behind (the kill
    landed inside an atomic write).
    """
    import random
    import signal

    rng = random.Random(seed)
    if kind == "update":
        _lf()  # import filelock and yaml once here, not in every forked writer
    base = Path(directory)
    outcomes: list[dict[str, Any]] = []
    for trial in range(trials):
        folder = base if kind == "update" else base / f"trial-{trial}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ("counter.json" if kind == "update" else "cache.json")
        if kind != "update":
            atomic_write_text(path, _document(1, size))
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: never returns
            try:
                os.close(read_end)
                crash_writer(str(path), kind, size, functools.partial(os.write, write_end, b"r"))
            finally:
                os._exit(1)
        os.close(write_end)
        try:
            if os.read(read_end, 1) != b"r":
                raise RuntimeError(f"writer of trial {trial} died before its first write")
            time.sleep(rng.uniform(0.0, 0.010))
            os.kill(pid, signal.SIGKILL)
        finally:
            os.waitpid(pid, 0)
            os.close(read_end)
        outcomes.append(_classify(path, kind, size))
    return outcomes


def crash_trials_main() -> None:  # pragma: no cover - helper process entry point
    """``python -c 'from tests.support.file_crash import crash_trials_main; crash_trials_main()'
    KIND DIRECTORY TRIALS SEED``: run :func:`crash_trials`, print the outcomes as JSON."""
    kind, directory, trials, seed = sys.argv[1:5]
    print(json.dumps(crash_trials(kind, directory, int(trials), seed=int(seed))))
