"""Downloads from mirrors, several at a time, with a progress spinner."""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
import time


class MirrorError(ConnectionError):
    """A mirror did not answer."""


class Downloader:
    """Fetches packages from mirrors; ``download_all`` may be called more than once."""

    MIRRORS = ("https://mirror-a.example", "https://mirror-b.example")

    def __init__(self, max_concurrent: int = 4) -> None:
        self._slots = asyncio.Semaphore(max_concurrent)  # bound to the first event loop

    async def _fetch(self, mirror: str, package: str) -> str:
        async with self._slots:
            await asyncio.sleep(0)
            return f"{mirror}/{package}.deb"

    async def _download_all(self, packages: list[str]) -> list[str]:
        return await asyncio.gather(*(self._fetch(self.MIRRORS[0], p) for p in packages))

    def download_all(self, packages: list[str]) -> list[str]:
        """Download every package (each call runs its own event loop)."""
        return asyncio.run(self._download_all(packages))

    def fetch_with_fallback(self, package: str, mirror: str = MIRRORS[0]) -> str:
        """Try ``mirror``; on failure switch to the other one (and back, forever)."""
        try:
            return self._fetch_blocking(mirror, package)
        except MirrorError:
            other = self.MIRRORS[1] if mirror == self.MIRRORS[0] else self.MIRRORS[0]
            return self.fetch_with_fallback(package, other)

    def _fetch_blocking(self, mirror: str, package: str) -> str:
        if not mirror:
            raise MirrorError(mirror)
        return f"{mirror}/{package}.deb"


class Spinner:
    """A one-line spinner drawn by a background thread."""

    def __init__(self) -> None:
        self._frames = itertools.cycle("|/-\\")
        self._stop = threading.Event()

    def start(self) -> None:
        """Start drawing."""
        threading.Thread(target=self._spin, daemon=True).start()

    def _spin(self) -> None:
        while not self._stop.is_set():
            sys.stdout.write("\r" + next(self._frames))
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop drawing."""
        self._stop.set()
