"""Read-modify-write of a shared file: before (a lock per instance) and after (a lock per
path that holds across threads and processes, plus an atomic write).

Needs ``filelock`` (a Cortex dependency). Two processes with two threads each add one to a
counter in a JSON file 50 times per thread; the exact answer is 200::

    python examples/locked_update_before_after.py

Nothing sleeps between the read and the write: processes run on separate cores and every
file operation is a system call, so their updates collide by themselves (50 per thread
make sure the processes overlap, whatever their start-up skew).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import filelock

PROCESSES, THREADS, INCREMENTS = 2, 2, 50
EXPECTED = PROCESSES * THREADS * INCREMENTS


def read(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # upstream's loaders: a torn file reads as empty
        return {}
    return value if isinstance(value, dict) else {}


# ---- before: each object locks itself; the file is shared by every object and process ----
class Preferences:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # guards this instance only: that is the bug

    def increment(self) -> None:
        with self._lock:
            data = read(self.path)
            data["counter"] = data.get("counter", 0) + 1
            self.path.write_text(json.dumps(data), encoding="utf-8")  # in place


# ---- after: one lock per path (threads) + flock on a side file (processes) + atomic write --
_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()  # guards _path_locks


def path_lock(path: Path) -> threading.Lock:
    key = os.path.realpath(path)
    with _path_locks_guard:
        return _path_locks.setdefault(key, threading.Lock())


def locked_update(path: Path, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    # The threading lock orders this process's threads; only its holder touches the
    # FileLock, whose flock orders processes (and is dropped by the kernel if we die).
    with path_lock(path), filelock.FileLock(f"{path}.lock", thread_local=False):
        new = fn(read(path))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(new, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # readers and crashes see the old file or the new one


def add_one(data: dict[str, Any]) -> dict[str, Any]:
    data["counter"] = data.get("counter", 0) + 1
    return data


def worker(kind: str, path: str, barrier: Any) -> None:
    target = Path(path)

    def loop() -> None:
        prefs = Preferences(target)  # one object per thread, as separate modules would
        for _ in range(INCREMENTS):
            if kind == "before":
                prefs.increment()
            else:
                locked_update(target, add_one)

    threads = [threading.Thread(target=loop) for _ in range(THREADS)]
    barrier.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run(kind: str, path: Path) -> int:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    processes = [
        context.Process(target=worker, args=(kind, str(path), barrier)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return int(read(path).get("counter", 0))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        before = run("before", Path(folder) / "before.json")
        after = run("after", Path(folder) / "after.json")
    print(f"before: counter = {before} of {EXPECTED} ({EXPECTED - before} updates lost)")
    print(f"after:  counter = {after} of {EXPECTED}")
    raise SystemExit(0 if before < EXPECTED and after == EXPECTED else 1)
