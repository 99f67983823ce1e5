"""LazySingleton and SingleFlight, each proven against its unsafe twin."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from collections.abc import Callable

import pytest

from cortex.demos.harness import run_together
from cortex.demos.interleavings import check_fix, show_race
from cortex.demos.ledger import LEDGER
from cortex.demos.singletons import (
    ConstructionCounter,
    UnsafeLazySingleton,
    UnsafeSingleFlight,
    race_singleton,
    singleton_model,
)
from cortex.hardware_detection import HardwareDetector, SystemInfo
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


# -- fork while a flight is in the air ---------------------------------------------------------

FORK_BOUND_S = 60.0
"""How long a forked child may take to finish; generous, the machine may be loaded. Without
the at-fork reset the child waits forever, so any bound separates the two outcomes."""


def _fork_while(
    leader_inside: threading.Event, release: threading.Event, child: Callable[[], str]
) -> tuple[str, float]:
    """Fork once ``leader_inside`` is set; the child runs ``child`` and reports its answer.

    Returns the child's answer ("" when it did not finish in :data:`FORK_BOUND_S`; it is
    then killed) and the seconds the parent waited for it.
    """
    assert leader_inside.wait(30), "the leader never started"
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        pid = os.fork()
    if pid == 0:  # the child: report, then leave without running any cleanup
        code = 1
        try:
            os.close(read_fd)
            os.write(write_fd, child().encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    release.set()  # the parent's leader may finish now: the child must not need it
    started = time.monotonic()
    status = None
    while time.monotonic() - started < FORK_BOUND_S:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    waited = time.monotonic() - started
    LEDGER.add("singletons", processes=1, faults=1)  # a fork mid-operation is the fault
    answer = os.read(read_fd, 1000).decode() if status is not None and status == 0 else ""
    os.close(read_fd)
    return answer, waited


@pytest.mark.thread_unsafe(reason="forks the test process")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_mid_flight_does_not_wait_for_the_parents_leader() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    inside, release = threading.Event(), threading.Event()
    parent = os.getpid()

    def work() -> str:
        if os.getpid() == parent:
            inside.set()
            release.wait(FORK_BOUND_S)
            return "parent"
        return "child"

    leader = threading.Thread(target=flight.do, args=("k", work))
    leader.start()
    try:
        answer, _ = _fork_while(inside, release, lambda: flight.do("k", work))
    finally:
        release.set()
        leader.join(FORK_BOUND_S)
    assert answer == "child"
    assert flight.in_flight() == 0
    assert flight.do("k", work) == "parent"  # the parent's flight is intact


@pytest.mark.thread_unsafe(reason="forks the test process")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_during_detect_detects_for_itself() -> None:
    # Upstream's use: a thread is inside detect() when another thread forks a worker.
    detector = HardwareDetector(use_cache=False)
    inside, release = threading.Event(), threading.Event()
    parent = os.getpid()

    def detect_uncached() -> SystemInfo:
        if os.getpid() == parent:
            inside.set()
            release.wait(FORK_BOUND_S)
            return SystemInfo(hostname="parent")
        return SystemInfo(hostname="child")

    detector._detect_uncached = detect_uncached  # type: ignore[method-assign]
    leader = threading.Thread(target=detector.detect)
    leader.start()
    try:
        answer, _ = _fork_while(inside, release, lambda: detector.detect().hostname)
    finally:
        release.set()
        leader.join(FORK_BOUND_S)
    assert answer == "child"


def test_a_waiter_whose_leader_thread_is_gone_takes_over(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a forked child would see without the at-fork reset: a call whose leader thread
    # does not exist. The waiter notices between short waits and runs the work itself.
    from cortex.utils import thread_utils

    monkeypatch.setattr(thread_utils, "_LEADER_CHECK_S", 0.01)
    flight: SingleFlight[str, str] = SingleFlight()
    orphan = thread_utils._Call[str]()
    gone = threading.Thread(target=lambda: None)
    gone.start()
    gone.join()
    orphan.leader = gone
    flight._calls["k"] = orphan
    assert flight.do("k", lambda: "mine") == "mine"
    assert flight.in_flight() == 0


def test_a_waiter_with_a_timeout_gives_up_with_timeout_error() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    inside, release = threading.Event(), threading.Event()

    def slow() -> str:
        inside.set()
        release.wait(30)
        return "late"

    leader = threading.Thread(target=flight.do, args=("k", slow))
    leader.start()
    try:
        assert inside.wait(30)
        with pytest.raises(TimeoutError):
            flight.do("k", slow, timeout=0.05)
    finally:
        release.set()
        leader.join(30)


def _module_locks() -> dict[str, Callable[[], threading.Lock | threading.RLock]]:
    """Every module-level lock outside the SQLite pool (which has its own fork test), by
    name, each read at call time (an at-fork reset rebinds the module attribute)."""
    from cortex import hardware_detection, logging_system, semantic_cache
    from cortex.utils import file_lock, thread_utils

    return {
        "thread_utils._registry_lock": lambda: thread_utils._registry_lock,
        "thread_utils._flights_lock": lambda: thread_utils._flights_lock,
        "file_lock._locks_guard": lambda: file_lock._locks_guard,
        "hardware_detection._reported_lock": lambda: hardware_detection._reported_lock,
        "hardware_detection._detector._lock": lambda: hardware_detection._detector._lock,
        "HardwareDetector._cached_lock": lambda: hardware_detection.get_detector()._cached_lock,
        "logging_system._installed_lock": lambda: logging_system._installed_lock,
        "semantic_cache._pending_lock": lambda: semantic_cache._pending_lock,
    }


@pytest.mark.thread_unsafe(reason="forks the test process and holds process-wide locks")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_while_every_module_lock_is_held_can_take_each_one() -> None:
    from cortex.hardware_detection import get_detector

    get_detector()  # the shared detector exists, as in a program that detected already
    locks = _module_locks()
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        held = [get() for get in locks.values()]
        for lock in held:
            lock.acquire()
        try:
            inside.set()
            release.wait(FORK_BOUND_S)
        finally:
            for lock in reversed(held):
                lock.release()

    holder = threading.Thread(target=hold)
    holder.start()

    def child() -> str:
        stuck = [name for name, get in locks.items() if not get().acquire(timeout=5)]
        return "ok" if not stuck else " ".join(stuck)

    try:
        answer, _ = _fork_while(inside, release, child)
    finally:
        release.set()
        holder.join(FORK_BOUND_S)
    assert answer == "ok"
