"""Rewriting a file: before (in place) and after (temp file, fsync, rename).

Standalone: copy ``atomic_write_text`` into your module. Run it to see readers find a torn
JSON file while a writer rewrites it in place, and never once it is replaced atomically::

    python examples/atomic_write_before_after.py

Nothing is slowed down: ``open(path, "w")`` empties the file at once and the text arrives
with a later system call, and every system call releases the GIL, so readers in other
threads land in that window on any build.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

WRITES = 40
READERS = 4


# ---- before: the pattern the audit found ------------------------------------------------
def write_in_place(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:  # truncates: the old content is gone
        handle.write(text)  # ...until this reaches the file, readers see an empty one


# ---- after: write a temp file beside it, fsync, rename over it, fsync the directory -----
def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    with contextlib.suppress(FileNotFoundError):
        mode = stat.S_IMODE(path.stat().st_mode)  # keep the existing permissions
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())  # the data is on disk before the name points at it
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)  # atomic on one filesystem: old or new, never half
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def count_torn_reads(write: Callable[[Path, str], None], path: Path) -> int:
    """Rewrite ``path`` WRITES times while READERS threads parse it; count failed parses."""
    atomic_write_text(path, json.dumps({"version": 0, "payload": "x" * 20_000}))
    done = threading.Event()
    torn = [0]
    torn_lock = threading.Lock()  # guards torn
    barrier = threading.Barrier(READERS + 1)

    def reader() -> None:
        barrier.wait()
        while not done.is_set():
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                with torn_lock:
                    torn[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    for version in range(1, WRITES + 1):
        write(path, json.dumps({"version": version, "payload": "x" * 20_000}))
    done.set()
    for thread in threads:
        thread.join()
    return torn[0]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        before = count_torn_reads(write_in_place, Path(folder) / "cache.json")
        after = count_torn_reads(atomic_write_text, Path(folder) / "cache.json")
    print(f"before: {before} torn reads while {WRITES} in-place writes ran")
    print(f"after:  {after} torn reads while {WRITES} atomic writes ran")
    raise SystemExit(0 if before > 0 and after == 0 else 1)
