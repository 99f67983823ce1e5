# expect: file-in-place-write
"""A page cache whose path a function of the module builds under the user's cache
directory: the command names an entry there, and every process reads the same file."""

import os
from pathlib import Path


def cache_dir():
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "pages"
    return Path.home() / ".cache" / "pages"


def cache_file(command):
    return cache_dir() / f"{command}.md"


def store_page(command, page):
    path = cache_file(command)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(page)
