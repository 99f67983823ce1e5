"""Holding a file's lock from elsewhere, as another writer would."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from cortex.utils.file_lock import path_lock


@contextlib.contextmanager
def lock_held_elsewhere(path: Path) -> Iterator[None]:
    """Hold ``path``'s lock from another thread for the block (another writer, mid-write).

    The lock per path is re-entrant for its holding thread, so the holder must be another
    thread for the block's own writes to wait for it.
    """
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        lock = path_lock(path)
        lock.acquire(5)
        held.set()
        done.wait(30)
        lock.release()

    holder = threading.Thread(target=hold, name="another-writer")
    holder.start()
    if not held.wait(10):
        raise RuntimeError(f"could not take the lock of {path}")
    try:
        yield
    finally:
        done.set()
        holder.join(10)
