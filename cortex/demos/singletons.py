"""The lazy-singleton race: upstream's check-then-act beside its fix.

The unsafe twin is the pattern the audit found in ``hardware_detection`` and
``transaction_history`` (upstream ``cortex/hardware_detection.py``, lines 648-653,
``get_detector()``)::

    if _detector_instance is None:
        _detector_instance = HardwareDetector()
    return _detector_instance

Nothing stops two threads from both passing the check before either assigns. No sleep
widens the window here: :func:`singleton_model` lets
:mod:`cortex.demos.interleavings` choose the thread switches, between any two bytecodes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cortex.demos.harness import run_together
from cortex.demos.interleavings import (
    STRESS_OPERATIONS,
    STRESS_THREADS,
    lockstep,
    start_together,
)

__all__ = [
    "ConstructionCounter",
    "CountedResource",
    "RaceOutcome",
    "SingletonHolder",
    "UnsafeLazySingleton",
    "UnsafeSingleFlight",
    "race_singleton",
    "singleton_model",
    "singleton_stress_model",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class SingletonHolder(Protocol[T_co]):
    """Anything with a ``get()`` that should always return the same object."""

    def get(self) -> T_co:
        """Return the single instance."""
        ...


class UnsafeLazySingleton(Generic[T]):
    """The unsafe twin: check-then-act with no lock. Do not use; it exists to be caught.

    :meth:`get` is upstream's ``get_detector()`` body (``cortex/hardware_detection.py``,
    lines 651-653) with the global made an attribute.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._instance: T | None = None

    def get(self) -> T:
        """Return the instance, creating it if none exists yet (racy)."""
        if self._instance is None:
            self._instance = self._factory()
        return self._instance


class UnsafeSingleFlight(Generic[T]):
    """The unsafe twin of :class:`~cortex.utils.thread_utils.SingleFlight`: no de-duplication.

    Every concurrent caller runs the work itself, as upstream's detectors and caches did.
    """

    def do(self, key: object, fn: Callable[[], T]) -> T:
        """Run ``fn`` (``key`` is ignored)."""
        del key
        return fn()


class ConstructionCounter:
    """Counts constructions exactly (its own lock), one counter per race."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards count
        self.count = 0

    def increment(self) -> None:
        """Record one construction."""
        with self._lock:
            self.count += 1


class CountedResource:
    """Stands for a detector or a database handle: counts how often it is constructed."""

    def __init__(self, counter: ConstructionCounter) -> None:
        counter.increment()


@dataclass(frozen=True)
class RaceOutcome:
    """What a singleton race produced."""

    threads: int
    constructed: int
    """How many times the constructor ran."""
    distinct_instances: int
    """How many different objects the callers got back."""

    @property
    def safe(self) -> bool:
        """True when exactly one object was built and everybody got it."""
        return self.constructed == 1 and self.distinct_instances == 1


HolderType = Callable[[Callable[[], CountedResource]], SingletonHolder[CountedResource]]


def race_singleton(holder_type: HolderType, *, threads: int = 100) -> RaceOutcome:
    """Release ``threads`` real threads on one fresh holder's ``get()``; count the instances.

    ``holder_type`` is :class:`UnsafeLazySingleton` or
    :class:`~cortex.utils.thread_utils.LazySingleton` (anything built from a factory). The
    OS schedules the threads: this checks the fix under real contention; whether the twin
    fails here depends on luck, so :func:`singleton_model` is what shows the race.
    """
    counter = ConstructionCounter()
    holder = holder_type(lambda: CountedResource(counter))
    returned = run_together(lambda _i: holder.get(), threads, area="singletons")
    return RaceOutcome(
        threads=threads,
        constructed=counter.count,
        distinct_instances=len({id(obj) for obj in returned}),
    )


def singleton_model(holder_type: HolderType) -> Callable[[], None]:
    """A model for :mod:`cortex.demos.interleavings`: two threads call ``get()`` on a fresh holder.

    It asserts that the constructor ran once and both callers got the same object.
    """

    def model() -> None:
        counter = ConstructionCounter()
        holder = holder_type(lambda: CountedResource(counter))
        got: list[CountedResource] = []
        start_together(lambda: got.append(holder.get()), lambda: got.append(holder.get()))
        assert counter.count == 1, f"2 callers, {counter.count} instances built"
        assert got[0] is got[1], "the callers got different objects"

    return model


def singleton_stress_model(
    holder_type: HolderType, *, threads: int = STRESS_THREADS, rounds: int = STRESS_OPERATIONS
) -> Callable[[], None]:
    """The same race at the size one forced-interleaving run needs to show it.

    ``rounds`` fresh holders; ``threads`` threads call ``get()`` on each of them in the same
    order and in :func:`~cortex.demos.interleavings.lockstep`, so each holder is a race of
    all of them. It asserts that every holder built one instance and handed everybody that
    one.
    """

    def model() -> None:
        counters = [ConstructionCounter() for _ in range(rounds)]
        holders = [holder_type(lambda c=c: CountedResource(c)) for c in counters]  # type: ignore[misc]
        got: list[list[CountedResource]] = [[] for _ in range(rounds)]

        step = lockstep(threads)

        def caller() -> None:
            for holder, answers in zip(holders, got, strict=True):
                step()  # each holder a race of all the threads
                answers.append(holder.get())

        start_together(*(caller for _ in range(threads)))
        built = max(counter.count for counter in counters)
        assert built == 1, f"{threads} callers, {built} instances built"
        assert all(len({id(o) for o in answers}) == 1 for answers in got), (
            "the callers got different objects"
        )

    return model
