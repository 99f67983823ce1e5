"""The lazy-singleton race: upstream's check-then-act beside its fix.

The unsafe twin is the pattern the audit found in ``hardware_detection`` and
``transaction_history``::

    _detector = None

    def get_detector():
        global _detector
        if _detector is None:           # check ...
            _detector = HardwareDetector()  # ... then act: another thread may be here too
        return _detector

Without the GIL nothing stops two threads from passing the check together; with the GIL a
constructor that does I/O (opens a file or a database) releases it and lets them in as well.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cortex.demos.harness import run_together

__all__ = [
    "ConstructionCounter",
    "RaceOutcome",
    "SingletonHolder",
    "SlowResource",
    "UnsafeLazySingleton",
    "UnsafeSingleFlight",
    "race_singleton",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class SingletonHolder(Protocol[T_co]):
    """Anything with a ``get()`` that should always return the same object."""

    def get(self) -> T_co:
        """Return the single instance."""
        ...


class UnsafeLazySingleton(Generic[T]):
    """The unsafe twin: check-then-act with no lock. Do not use; it exists to be caught."""

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


class SlowResource:
    """Stands for a detector or a database handle whose constructor takes ``window`` s."""

    def __init__(self, counter: ConstructionCounter, window: float = 0.05) -> None:
        time.sleep(window)  # the I/O a real constructor does; it widens the race window
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


def race_singleton(
    holder_type: Callable[[Callable[[], SlowResource]], SingletonHolder[SlowResource]],
    *,
    threads: int = 100,
    window: float = 0.05,
) -> RaceOutcome:
    """Release ``threads`` threads on one fresh holder's ``get()`` and count the instances.

    ``holder_type`` is :class:`UnsafeLazySingleton` or
    :class:`~cortex.utils.thread_utils.LazySingleton` (anything built from a factory).
    """
    counter = ConstructionCounter()
    holder = holder_type(lambda: SlowResource(counter, window))
    returned = run_together(lambda _i: holder.get(), threads, area="singletons")
    return RaceOutcome(
        threads=threads,
        constructed=counter.count,
        distinct_instances=len({id(obj) for obj in returned}),
    )
