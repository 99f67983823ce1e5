"""The shared-resolution-cache race: check, resolve, fill, beside single-flight.

Upstream's dependency resolver cached results in a dictionary checked under one lock and
filled under another. Two threads that miss together both resolve (upstream shelled out to
``apt-cache`` for each: the work, not just the time, is duplicated), and every caller got
the same mutable list, so one caller appending to it changed what the others saw.

:class:`UnsafeResolutionCache` is that pattern; the fix is
:class:`cortex.dependency_resolver.ResolutionCache` (single-flight misses, frozen results).
:func:`race_resolution_cache` releases many threads on one package against either. The
``window`` sleep inside the resolver stands for the ``apt-cache`` call and makes the race
deterministic on any build.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cortex.demos.harness import run_together
from cortex.dependency_resolver import DependencyResolver, Resolution, ResolutionCache

__all__ = [
    "CacheRaceOutcome",
    "CountingResolver",
    "ResolutionCacheLike",
    "UnsafeResolutionCache",
    "race_resolution_cache",
]


class ResolutionCacheLike(Protocol):
    """Anything with ``get(package) -> Resolution``: the fix or the unsafe twin."""

    def get(self, package: str) -> Resolution:
        """The cached resolution of ``package``."""
        ...


class CountingResolver:
    """Wraps a resolver's ``resolve``, counting calls and taking ``window`` seconds each."""

    def __init__(self, resolver: DependencyResolver, window: float = 0.02) -> None:
        self.resolver = resolver
        self.window = window
        # Guards calls.
        self._lock = threading.Lock()
        self.calls = 0

    def __call__(self, package: str) -> Resolution:
        with self._lock:
            self.calls += 1
        time.sleep(self.window)  # stands for upstream's apt-cache subprocess
        return self.resolver.resolve(package)


class UnsafeResolutionCache:
    """The unsafe twin: check under one lock, resolve, fill under another. Do not use.

    Also hands out one shared mutable list per package, as upstream did.
    """

    def __init__(self, resolve: Callable[[str], Resolution]) -> None:
        self._resolve = resolve
        self._read_lock = threading.Lock()  # guards reads of _results (only reads)
        self._write_lock = threading.Lock()  # guards writes of _results (only writes)
        self._results: dict[str, list[str]] = {}

    def get_list(self, package: str) -> list[str]:
        """The closure as the shared mutable list upstream returned."""
        with self._read_lock:
            cached = self._results.get(package)
        if cached is not None:
            return cached
        closure = list(self._resolve(package).closure)  # both threads get here on a miss
        with self._write_lock:
            self._results[package] = closure
        return closure

    def get(self, package: str) -> Resolution:
        """The resolution rebuilt from the shared list."""
        return Resolution(package, tuple(self.get_list(package)))


@dataclass(frozen=True)
class CacheRaceOutcome:
    """What a resolution-cache race produced."""

    threads: int
    resolutions: int
    """How many times the resolver ran for the one package."""
    distinct_answers: int
    """How many different closures the callers saw."""

    @property
    def safe(self) -> bool:
        """True when the package was resolved once and everybody saw the same closure."""
        return self.resolutions == 1 and self.distinct_answers == 1


def race_resolution_cache(
    cache_type: Callable[[Callable[[str], Resolution]], ResolutionCacheLike],
    resolver: DependencyResolver,
    package: str,
    *,
    threads: int = 50,
    window: float = 0.02,
) -> CacheRaceOutcome:
    """Release ``threads`` threads on one fresh cache's ``get(package)``.

    ``cache_type`` is :class:`UnsafeResolutionCache` or
    :class:`~cortex.dependency_resolver.ResolutionCache`.
    """
    counting = CountingResolver(resolver, window)
    cache = cache_type(counting)
    answers = run_together(lambda _i: cache.get(package).closure, threads)
    return CacheRaceOutcome(threads, counting.calls, len(set(answers)))


def mutate_shared_result(cache: UnsafeResolutionCache, package: str) -> Sequence[str]:
    """One caller appends to its answer; return what the next caller then sees."""
    cache.get_list(package).append("surprise-package")
    return cache.get_list(package)


def fixed_cache(resolve: Callable[[str], Resolution]) -> ResolutionCache:
    """The fix, with the same call shape as :class:`UnsafeResolutionCache`."""
    return ResolutionCache(resolve)
