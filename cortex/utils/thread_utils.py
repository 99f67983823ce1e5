"""Small thread-safety primitives shared by every Cortex module.

* :class:`LazySingleton` -- create one instance on first use, never two, with a lock-free
  fast path once it exists. Replaces the ``global _x; if _x is None: _x = X()`` pattern.
* :func:`reset_singletons` -- drop every registered instance; for tests.
* :class:`SingleFlight` -- when many threads ask for the same key at once, run the work once
  and hand every caller that result (or that exception).

Nothing here does any work at import time.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["LazySingleton", "SingleFlight", "reset_singletons"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

# Every LazySingleton, so that tests can reset them all between cases. A WeakSet lets a
# singleton defined in a throw-away scope (a test, a notebook cell) be collected.
_registry: weakref.WeakSet[LazySingleton[object]] = weakref.WeakSet()
# Guards _registry: WeakSet iteration is not safe against concurrent insertion.
_registry_lock = threading.Lock()


class LazySingleton(Generic[T]):
    """Holds the one instance that ``factory`` makes, created on the first :meth:`get`.

    Invariant: ``factory`` runs at most once between two :meth:`reset` calls, however many
    threads call :meth:`get` at the same moment; every caller gets the same object.

    The fast path reads one attribute without locking: a reference read is atomic in
    CPython with or without the GIL, and the instance is published only after ``factory``
    has returned, so a reader sees either ``None`` or a fully built object. Only callers
    that arrive before the instance exists take the lock (double-checked locking).

    Example::

        _detector = LazySingleton(HardwareDetector)

        def get_detector() -> HardwareDetector:
            return _detector.get()
    """

    __slots__ = ("__weakref__", "_factory", "_instance", "_lock", "name")

    def __init__(self, factory: Callable[[], T], *, name: str | None = None) -> None:
        self._factory = factory
        self._instance: T | None = None
        # Guards creation: held while ``factory`` runs so that a second caller waits for
        # the first one's result instead of building its own.
        self._lock = threading.Lock()
        self.name = name or getattr(factory, "__qualname__", repr(factory))
        with _registry_lock:
            _registry.add(self)  # type: ignore[arg-type]

    def get(self) -> T:
        """Return the instance, creating it on the first call.

        If ``factory`` raises, nothing is stored and the next call tries again.
        """
        instance = self._instance
        if instance is not None:  # fast path: no lock once created
            return instance
        with self._lock:
            instance = self._instance
            if instance is None:  # second check: another thread may have won the race
                instance = self._factory()
                self._instance = instance
            return instance

    def peek(self) -> T | None:
        """The instance if it has been created, else ``None``; never creates it."""
        return self._instance

    def reset(self) -> None:
        """Forget the instance so that the next :meth:`get` creates a fresh one.

        Meant for tests. Callers that already hold the old instance keep using it.
        """
        with self._lock:
            self._instance = None

    def __repr__(self) -> str:
        state = "created" if self._instance is not None else "not created"
        return f"<LazySingleton {self.name} ({state})>"


def reset_singletons() -> None:
    """Reset every :class:`LazySingleton` in the process (for test isolation)."""
    with _registry_lock:
        singletons = list(_registry)
    for singleton in singletons:
        singleton.reset()


class _Call(Generic[T]):
    """One in-flight computation that late arrivals wait for."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None


class SingleFlight(Generic[K, T]):
    """Collapse concurrent calls for the same key into one execution.

    Invariant: for a given key, ``fn`` runs at most once at a time; callers that arrive
    while it runs wait and receive the same result (or the same exception). Calls that
    arrive after it finished start a new execution: this is de-duplication, not a cache.

    Example::

        flight: SingleFlight[str, SystemInfo] = SingleFlight()
        info = flight.do("detect", detector._detect_uncached)
    """

    def __init__(self) -> None:
        # Guards _calls only; never held while ``fn`` runs.
        self._lock = threading.Lock()
        self._calls: dict[K, _Call[T]] = {}

    def do(self, key: K, fn: Callable[[], T]) -> T:
        """Run ``fn`` for ``key``, or wait for the run already in flight and share it."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = _Call()
                self._calls[key] = call
        if leader:
            try:
                call.result = fn()
            except BaseException as exc:
                call.error = exc
                raise
            finally:
                with self._lock:
                    del self._calls[key]
                call.done.set()
            return call.result
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def in_flight(self) -> int:
        """Number of keys being computed right now."""
        with self._lock:
            return len(self._calls)
