"""The package registry: one instance whatever the concurrency, counters under the lock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from cortex.utils.thread_utils import LazySingleton


class PackageRegistry:
    """Answers "which version of this package?" and counts lookups."""

    def __init__(self) -> None:
        self.versions = {"nginx": "1.24", "docker": "26.1", "python3": "3.13"}
        # Guards lookups and misses.
        self._lock = threading.Lock()
        self.lookups = 0
        self.misses: dict[str, int] = {}

    def version(self, name: str) -> str | None:
        """The known version of ``name``, counting the lookup."""
        found = self.versions.get(name)  # read-only after __init__: no lock needed
        with self._lock:  # fixes shared-rmw: the whole read-modify-write is locked
            self.lookups += 1
            if found is None:
                self.misses[name] = self.misses.get(name, 0) + 1
        return found


# fixes singleton-global: created once, under a lock, on first use
_registry: LazySingleton[PackageRegistry] = LazySingleton(PackageRegistry)


def get_registry() -> PackageRegistry:
    """The process-wide registry."""
    return _registry.get()


def resolve_all(names: list[str]) -> list[str | None]:
    """Look every name up from a thread pool."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(get_registry().version, names))
