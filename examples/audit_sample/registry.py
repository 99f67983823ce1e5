"""The package registry: a lazy singleton and hit counters bumped from worker threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


class PackageRegistry:
    """Answers "which version of this package?" and counts lookups."""

    def __init__(self) -> None:
        self.versions = {"nginx": "1.24", "docker": "26.1", "python3": "3.13"}
        self.lookups = 0
        self.misses: dict[str, int] = {}
        self._lock = threading.Lock()

    def version(self, name: str) -> str | None:
        """The known version of ``name``, counting the lookup."""
        self.lookups += 1
        found = self.versions.get(name)
        if found is None:
            self.misses[name] = self.misses.get(name, 0) + 1
        return found


_registry: PackageRegistry | None = None


def get_registry() -> PackageRegistry:
    """The process-wide registry."""
    global _registry
    if _registry is None:
        _registry = PackageRegistry()
    return _registry


def resolve_all(names: list[str]) -> list[str | None]:
    """Look every name up from a thread pool."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(get_registry().version, names))
