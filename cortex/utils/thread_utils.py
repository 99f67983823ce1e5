"""Small thread-safety primitives shared by every Cortex module.

* :class:`LazySingleton` -- create one instance on first use, never two, with a lock-free
  fast path once it exists. Replaces the ``global _x; if _x is None: _x = X()`` pattern.
* :func:`reset_singletons` -- drop every registered instance; for tests.
* :class:`SingleFlight` -- when many threads ask for the same key at once, run the work once
  and hand every caller that result (or that exception).
* :func:`at_fork_reinit` -- register a function that a child created by :func:`os.fork`
  runs to replace the locks and in-flight state it inherited.

Fork safety: a child created by ``fork`` has only the thread that called ``fork``, but it
inherits every lock in the state the parent's threads left it, and every in-flight
:class:`SingleFlight` call whose leader now does not exist. In the child, every live
:class:`LazySingleton` and :class:`SingleFlight` gets new locks and forgets its in-flight
calls (``os.register_at_fork``), so nothing there waits on a thread that is not there.
Waiters also check, between short waits, that their leader is still alive.

Nothing here does any work at import time beyond registering that at-fork hook.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["LazySingleton", "SingleFlight", "at_fork_reinit", "reset_singletons"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

# Every LazySingleton, so that tests can reset them all between cases. A WeakSet lets a
# singleton defined in a throw-away scope (a test, a notebook cell) be collected.
_registry: weakref.WeakSet[LazySingleton[object]] = weakref.WeakSet()
# Guards _registry: WeakSet iteration is not safe against concurrent insertion.
_registry_lock = threading.Lock()

# Every SingleFlight, so that a forked child can clear their in-flight calls.
_flights: weakref.WeakSet[SingleFlight[object, object]] = weakref.WeakSet()
# Guards _flights (same reason as _registry_lock).
_flights_lock = threading.Lock()


def at_fork_reinit(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` in every child created by :func:`os.fork` (usable as a decorator).

    The hook runs in the child's only thread, before any other code: it must replace
    (never acquire) the module's locks and drop state that names the parent's threads.
    Where ``os.register_at_fork`` does not exist (Windows) there is no fork to prepare for.
    """
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=hook)
    return hook


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

    __slots__ = ("__weakref__", "_factory", "_fork_reset", "_instance", "_lock", "name")

    def __init__(
        self, factory: Callable[[], T], *, name: str | None = None, fork_reset: bool = False
    ) -> None:
        self._factory = factory
        self._fork_reset = fork_reset
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

    def _reinit_after_fork(self) -> None:
        """In a forked child: a fresh lock (a parent thread may have held the old one).

        The instance is kept, unless it was created with ``fork_reset=True`` (an object
        that owns threads, such as a thread pool, is useless in the child). A kept
        instance with a ``_reinit_after_fork()`` method has it called, to replace its own
        locks.
        """
        self._lock = threading.Lock()
        if self._fork_reset:
            self._instance = None
        elif (hook := getattr(self._instance, "_reinit_after_fork", None)) is not None:
            hook()  # the instance replaces its own locks (see HardwareDetector)

    def __repr__(self) -> str:
        state = "created" if self._instance is not None else "not created"
        return f"<LazySingleton {self.name} ({state})>"


def reset_singletons() -> None:
    """Reset every :class:`LazySingleton` in the process (for test isolation)."""
    with _registry_lock:
        singletons = list(_registry)
    for singleton in singletons:
        singleton.reset()


_LEADER_CHECK_S = 0.5
"""How often a :class:`SingleFlight` waiter checks that its leader thread is still alive."""


class _Call(Generic[T]):
    """One in-flight computation that late arrivals wait for."""

    __slots__ = ("done", "error", "leader", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.leader = _current_thread()


def _current_thread() -> threading.Thread | None:
    """The calling thread's object, or ``None`` where there is none to be had.

    A controlled scheduler (interleave-test) runs code on raw threads while it replaces
    :class:`threading.Thread`; :func:`threading.current_thread` then fails to build the
    dummy object it would return.
    """
    try:
        return threading.current_thread()
    except (AssertionError, RuntimeError):
        return None


def _is_alive(thread: threading.Thread | None) -> bool:
    """Whether ``thread`` still runs; True when it cannot say (the waiter then keeps
    waiting for ``done``, which a leader always sets)."""
    if thread is None:
        return True
    try:
        return thread.is_alive()
    except (AssertionError, RuntimeError):
        return True


class SingleFlight(Generic[K, T]):
    """Collapse concurrent calls for the same key into one execution.

    Invariant: for a given key, ``fn`` runs at most once at a time; callers that arrive
    while it runs wait and receive the same result (or the same exception). Calls that
    arrive after it finished start a new execution: this is de-duplication, not a cache.

    A waiter never waits on a leader that is gone: it wakes every half second and, if the
    leader's thread has ended without publishing (which happens only in a child created
    by ``fork`` mid-flight, where the leader was not copied), it takes over. In a forked
    child every flight is also cleared at once (see the module docstring).

    Example::

        flight: SingleFlight[str, SystemInfo] = SingleFlight()
        info = flight.do("detect", detector._detect_uncached)
    """

    def __init__(self) -> None:
        # Guards _calls only; never held while ``fn`` runs.
        self._lock = threading.Lock()
        self._calls: dict[K, _Call[T]] = {}
        with _flights_lock:
            _flights.add(self)  # type: ignore[arg-type]

    def do(self, key: K, fn: Callable[[], T], *, timeout: float | None = None) -> T:
        """Run ``fn`` for ``key``, or wait for the run already in flight and share it.

        Args:
            key: calls with equal keys share one execution.
            fn: the work; runs in the calling thread when this caller leads.
            timeout: most seconds a waiter waits for another thread's run before raising
                :class:`TimeoutError`; ``None`` waits as long as the leader is alive.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                call = self._calls.get(key)
                leader = call is None
                if call is None:
                    call = _Call()
                    self._calls[key] = call
            if leader:
                return self._lead(key, call, fn)
            if self._wait(call, deadline):
                if call.error is not None:
                    raise call.error
                return call.result  # type: ignore[return-value]
            self._forget(key, call)  # the leader died without publishing: try again
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"single-flight call for {key!r} did not finish in {timeout} s")

    def _lead(self, key: K, call: _Call[T], fn: Callable[[], T]) -> T:
        try:
            call.result = fn()
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            self._forget(key, call)
            call.done.set()
        return call.result

    def _forget(self, key: K, call: _Call[T]) -> None:
        """Remove ``call`` from the flights, unless it is gone already (a forked child
        clears them all) or was replaced."""
        with self._lock:
            if self._calls.get(key) is call:
                del self._calls[key]

    @staticmethod
    def _wait(call: _Call[T], deadline: float | None) -> bool:
        """True once ``call`` is done; False when its leader thread is gone.

        Raises:
            TimeoutError: ``deadline`` passed with the leader still running.
        """
        while True:
            step = _LEADER_CHECK_S
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("single-flight call did not finish in time")
                step = min(step, left)
            if call.done.wait(step):
                return True
            if not _is_alive(call.leader):
                return call.done.is_set()

    def in_flight(self) -> int:
        """Number of keys being computed right now."""
        with self._lock:
            return len(self._calls)

    def _reinit_after_fork(self) -> None:
        """In a forked child: a fresh lock and no calls (their leaders stayed in the parent)."""
        self._lock = threading.Lock()
        self._calls = {}


@at_fork_reinit
def _reinit_after_fork() -> None:  # pragma: no cover - runs in forked children
    """Replace every registry lock, singleton lock and single-flight state in a child."""
    global _registry_lock, _flights_lock  # noqa: PLW0603
    _registry_lock = threading.Lock()
    _flights_lock = threading.Lock()
    for singleton in list(_registry):
        singleton._reinit_after_fork()
    for flight in list(_flights):
        flight._reinit_after_fork()
