"""Downloads from mirrors, several at a time, with a progress spinner."""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading


class MirrorError(ConnectionError):
    """A mirror did not answer."""


class Downloader:
    """Fetches packages from mirrors; ``download_all`` may be called more than once."""

    MIRRORS = ("https://mirror-a.example", "https://mirror-b.example")

    def __init__(self, max_concurrent: int = 4) -> None:
        self.max_concurrent = max_concurrent

    async def _fetch(self, slots: asyncio.Semaphore, mirror: str, package: str) -> str:
        async with slots:
            await asyncio.sleep(0)
            return f"{mirror}/{package}.deb"

    async def _download_all(self, packages: list[str]) -> list[str]:
        # fixes asyncio-loop-bound: a fresh semaphore for the loop that runs this batch
        slots = asyncio.Semaphore(self.max_concurrent)
        return await asyncio.gather(*(self._fetch(slots, self.MIRRORS[0], p) for p in packages))

    def download_all(self, packages: list[str]) -> list[str]:
        """Download every package (each call runs its own event loop)."""
        return asyncio.run(self._download_all(packages))

    def fetch_with_fallback(self, package: str) -> str:
        """Try each mirror once, in order (fixes fallback-recursion: a loop, not a bounce)."""
        errors: list[str] = []
        for mirror in self.MIRRORS:
            try:
                return self._fetch_blocking(mirror, package)
            except MirrorError as exc:
                errors.append(str(exc))
        raise MirrorError(f"every mirror failed: {errors}")

    def _fetch_blocking(self, mirror: str, package: str) -> str:
        if not mirror:
            raise MirrorError(mirror)
        return f"{mirror}/{package}.deb"


class Spinner:
    """A one-line spinner drawn by a background thread."""

    FRAMES = "|/-\\"

    def __init__(self) -> None:
        self._stop = threading.Event()

    def start(self) -> None:
        """Start drawing."""
        threading.Thread(target=self._spin, daemon=True).start()

    def _spin(self) -> None:
        frames = itertools.cycle(self.FRAMES)  # fixes shared-iterator: the thread's own
        while not self._stop.wait(0.1):
            sys.stdout.write("\r" + next(frames))

    def stop(self) -> None:
        """Stop drawing."""
        self._stop.set()
