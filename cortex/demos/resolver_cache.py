"""The shared-resolution-cache race: check, resolve, fill, beside single-flight.

Upstream's dependency resolver checked its cache under a lock, released it, resolved, and
filled the cache under the lock again (``cortex/dependency_resolver.py``, lines 220-223 and
266-267). Two threads that miss together both resolve (upstream shelled out to
``apt-cache`` for each: the work, not just the time, is duplicated), and every caller got
the same mutable list, so one caller appending to it changed what the others saw.

:class:`UnsafeResolutionCache` is that pattern, with no sleep in it; the fix is
:class:`cortex.dependency_resolver.ResolutionCache` (single-flight misses, frozen results).
:func:`resolution_model` shows the race through :mod:`cortex.demos.interleavings`;
:func:`race_resolution_cache` checks the fix with many real threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cortex.demos.harness import run_together
from cortex.demos.interleavings import (
    STRESS_OPERATIONS,
    STRESS_THREADS,
    lockstep,
    start_together,
)
from cortex.dependency_resolver import DependencyResolver, Resolution, ResolutionCache

__all__ = [
    "CacheRaceOutcome",
    "CountingResolver",
    "ResolutionCacheLike",
    "UnsafeResolutionCache",
    "race_resolution_cache",
    "resolution_model",
    "resolution_stress_model",
]


class ResolutionCacheLike(Protocol):
    """Anything with ``get(package) -> Resolution``: the fix or the unsafe twin."""

    def get(self, package: str) -> Resolution:
        """The cached resolution of ``package``."""
        ...


class CountingResolver:
    """Wraps a resolver's ``resolve``, counting calls."""

    def __init__(self, resolver: DependencyResolver) -> None:
        self.resolver = resolver
        # Guards calls.
        self._lock = threading.Lock()
        self.calls = 0

    def __call__(self, package: str) -> Resolution:
        with self._lock:
            self.calls += 1
        return self.resolver.resolve(package)


class UnsafeResolutionCache:
    """The unsafe twin: check under the lock, resolve without it, fill under it. Do not use.

    Also hands out one shared mutable list per package, as upstream did.
    """

    def __init__(self, resolve: Callable[[str], Resolution]) -> None:
        self._resolve = resolve
        self._cache_lock = threading.Lock()  # guards _results (each access, not the miss)
        self._results: dict[str, list[str]] = {}

    def get_list(self, package: str) -> list[str]:
        """The closure as the shared mutable list upstream returned."""
        with self._cache_lock:
            if package in self._results:
                return self._results[package]
        closure = list(self._resolve(package).closure)  # both threads get here on a miss
        with self._cache_lock:
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
) -> CacheRaceOutcome:
    """Release ``threads`` real threads on one fresh cache's ``get(package)``.

    ``cache_type`` is :class:`UnsafeResolutionCache` or
    :class:`~cortex.dependency_resolver.ResolutionCache`. The OS schedules the threads: this
    checks the fix under real contention; :func:`resolution_model` shows the twin's race.
    """
    counting = CountingResolver(resolver)
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


CacheType = Callable[[Callable[[str], Resolution]], ResolutionCacheLike]


def _recording_resolver(calls: list[str]) -> Callable[[str], Resolution]:
    """A resolver stand-in that appends each package it resolves to ``calls``."""

    def resolve(package: str) -> Resolution:
        calls.append(package)
        return Resolution(package, (package, "libc6"))

    return resolve


def resolution_model(cache_type: CacheType) -> Callable[[], None]:
    """A model for :mod:`cortex.demos.interleavings`: two threads miss on one package.

    The resolver is a stand-in that records its calls (a real resolution would make every
    bytecode of it a scheduling point, for nothing). It asserts one resolution.
    """

    def model() -> None:
        calls: list[str] = []
        cache = cache_type(_recording_resolver(calls))
        start_together(lambda: cache.get("nginx"), lambda: cache.get("nginx"))
        assert len(calls) == 1, f"2 callers missed together, {len(calls)} resolutions"

    return model


def resolution_stress_model(
    cache_type: CacheType, *, threads: int = STRESS_THREADS, packages: int = STRESS_OPERATIONS
) -> Callable[[], None]:
    """The same race at the size one forced-interleaving run needs to show it.

    ``threads`` threads ask one fresh cache for ``packages`` packages, in the same order
    and in :func:`~cortex.demos.interleavings.lockstep`; it asserts that each package was
    resolved once.
    """

    def model() -> None:
        calls: list[str] = []
        cache = cache_type(_recording_resolver(calls))
        names = [f"pkg{i}" for i in range(packages)]

        step = lockstep(threads)

        def ask() -> None:
            for name in names:
                step()  # each package a race of all the threads
                cache.get(name)

        start_together(*(ask for _ in range(threads)))
        most = max(calls.count(name) for name in names)
        assert most == 1, f"{threads} callers missed together, {most} resolutions"

    return model
