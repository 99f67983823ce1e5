"""Stress: many threads on every shared object at once. Exact counts, no hangs.

Run on a free-threaded build with ``PYTHON_GIL=0 python3.14t -m pytest
tests/test_thread_safety.py -v``. On GIL builds the ``tiny_switch_interval`` fixture makes
the interpreter switch threads every microsecond so bytecode-level races surface too.
"""

from __future__ import annotations

import pytest

import cortex.hardware_detection as hw
from cortex.demos.harness import run_together
from cortex.runtime import load_settings, runtime_facts
from cortex.utils.thread_utils import LazySingleton, SingleFlight

pytestmark = pytest.mark.stress


@pytest.mark.usefixtures("tiny_switch_interval")
def test_many_singletons_many_threads() -> None:
    holders = [LazySingleton(object) for _ in range(20)]
    seen = run_together(lambda i: [id(h.get()) for h in holders[i % 2 :: 2]], 100)
    even = {tuple(ids) for i, ids in enumerate(seen) if i % 2 == 0}
    odd = {tuple(ids) for i, ids in enumerate(seen) if i % 2 == 1}
    assert len(even) == 1
    assert len(odd) == 1


@pytest.mark.thread_unsafe(reason="checks the process-wide detector singleton")
@pytest.mark.usefixtures("tiny_switch_interval")
def test_detector_settings_and_facts_from_100_threads() -> None:
    def work(_i: int) -> tuple[int, int, int]:
        detector = hw.get_detector()
        info = detector.detect()
        assert runtime_facts().cores >= 1
        return id(detector), id(info), load_settings().db_pool_size

    results = run_together(work, 100)
    assert len({r[0] for r in results}) == 1
    assert len({r[1] for r in results}) == 1
    assert {r[2] for r in results} == {5}
    assert hw.get_detector().detections == 1


@pytest.mark.usefixtures("tiny_switch_interval")
def test_single_flight_under_a_tiny_switch_interval() -> None:
    flight: SingleFlight[int, int] = SingleFlight()
    results = run_together(lambda i: flight.do(i % 8, lambda: i % 8), 100)
    assert sorted(set(results)) == list(range(8))
    assert flight.in_flight() == 0
