# expect: file-prune-race
"""An answer cache shared by every process of a command-line tool, pruned after each
answer by deleting the oldest files (shell-gpt's shape): two processes finishing together
list the same files, the first deletes the oldest and the second's unlink() raises
FileNotFoundError after it has printed its answer."""

from pathlib import Path

CACHE_DIR = Path("~/.cache/answers").expanduser()


def prune(max_files: int) -> None:
    files = sorted(CACHE_DIR.glob("*"), key=lambda f: f.stat().st_mtime)
    for i in range(len(files) - max_files):
        files[i].unlink()
