"""The same prune, three ways that tolerate an entry another process deleted first:
unlink(missing_ok=True), a try that catches FileNotFoundError (as cachelib does), and
contextlib.suppress; and a delete of a file the function did not list."""

import contextlib
import os
from pathlib import Path

CACHE_DIR = Path("~/.cache/answers").expanduser()


def prune(max_files: int) -> None:
    files = sorted(CACHE_DIR.glob("*"), key=lambda f: f.stat().st_mtime)
    for i in range(len(files) - max_files):
        files[i].unlink(missing_ok=True)


def remove_expired(expired) -> None:
    for name in os.listdir(CACHE_DIR):
        if name in expired:
            try:
                os.remove(os.path.join(CACHE_DIR, name))
            except FileNotFoundError:
                pass


def clear() -> None:
    for entry in CACHE_DIR.iterdir():
        with contextlib.suppress(OSError):
            entry.unlink()


def forget(key: str) -> None:
    os.remove(CACHE_DIR / key)


def clear_for(pid: int) -> None:
    """An explicit clean-up of one process's files (info: not a routine prune)."""
    for entry in CACHE_DIR.glob(f"*_{pid}.db"):
        entry.unlink()
