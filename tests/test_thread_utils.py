"""LazySingleton and SingleFlight, each proven against its unsafe twin."""

from __future__ import annotations

import time

import pytest

from cortex.demos.harness import run_together
from cortex.demos.interleavings import check_fix, show_race
from cortex.demos.singletons import (
    ConstructionCounter,
    UnsafeLazySingleton,
    UnsafeSingleFlight,
    race_singleton,
    singleton_model,
)
from cortex.utils.thread_utils import LazySingleton, SingleFlight, reset_singletons

EXPLORES = pytest.mark.thread_unsafe(
    reason="explores interleavings: one exploration or preemption block per process at a time"
)

SINGLETONS = "cortex.demos.singletons"
UTILS = "cortex.utils.thread_utils"


def test_lazy_singleton_builds_exactly_one_under_a_race() -> None:
    outcome = race_singleton(LazySingleton, threads=100)
    assert outcome.constructed == 1
    assert outcome.distinct_instances == 1
    assert outcome.safe


@pytest.mark.twin
def test_the_race_check_catches_the_unsafe_twin() -> None:
    # The same model must fail on upstream's check-then-act, or it proves nothing.
    report = show_race(singleton_model(UnsafeLazySingleton), targets=[SINGLETONS], budget=100)
    assert report.found, report.details()
    assert "2 instances built" in report.error


@EXPLORES
def test_lazy_singleton_holds_under_every_explored_schedule() -> None:
    check = check_fix(singleton_model(LazySingleton), targets=[SINGLETONS, UTILS], budget=100)
    assert check.held, check.error


def test_a_failing_factory_stores_nothing_and_is_retried() -> None:
    calls = []

    def flaky() -> object:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk not ready")
        return object()

    holder: LazySingleton[object] = LazySingleton(flaky)
    with pytest.raises(OSError, match="disk not ready"):
        holder.get()
    assert holder.peek() is None
    first = holder.get()
    assert holder.get() is first
    assert len(calls) == 2


def test_reset_gives_a_fresh_instance_and_reset_singletons_reaches_all() -> None:
    one: LazySingleton[object] = LazySingleton(object)
    two: LazySingleton[object] = LazySingleton(object)
    a, b = one.get(), two.get()
    one.reset()
    assert one.get() is not a
    reset_singletons()
    assert one.peek() is None
    assert two.peek() is None
    assert two.get() is not b


def test_creating_an_instance_does_no_work_before_get() -> None:
    calls: list[int] = []
    holder = LazySingleton(lambda: calls.append(1))
    assert calls == []
    assert "not created" in repr(holder)


def _concurrent_runs(flight: SingleFlight[str, int] | UnsafeSingleFlight[int]) -> int:
    """Release 50 threads on one key; return how many times the work actually ran."""
    counter = ConstructionCounter()

    def work() -> int:
        time.sleep(0.05)  # slow work (a detection, an LLM call) widens the window
        counter.increment()
        return 1

    results = run_together(lambda _i: flight.do("k", work), 50)
    assert set(results) == {1}
    return counter.count


def test_single_flight_runs_once_for_concurrent_callers() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    assert _concurrent_runs(flight) == 1
    assert flight.in_flight() == 0


def test_without_single_flight_the_same_callers_duplicate_work() -> None:
    # The same check on the unsafe twin must see duplicated work, or it proves nothing.
    assert _concurrent_runs(UnsafeSingleFlight()) > 1


def test_single_flight_shares_the_exception_and_then_retries() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    attempts: list[int] = []

    def failing() -> int:
        attempts.append(1)
        time.sleep(0.05)
        raise ValueError("boom")

    def call(_i: int) -> str:
        try:
            flight.do("k", failing)
        except ValueError as exc:
            return str(exc)
        return "no error"

    assert set(run_together(call, 20)) == {"boom"}
    assert len(attempts) == 1
    assert flight.do("k", lambda: 7) == 7


def test_single_flight_keys_are_independent() -> None:
    flight: SingleFlight[int, int] = SingleFlight()
    results = run_together(lambda i: flight.do(i % 4, lambda: i % 4), 40)
    assert sorted(set(results)) == [0, 1, 2, 3]
