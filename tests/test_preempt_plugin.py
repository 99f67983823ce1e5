"""The ``pytest --preempt`` plugin, run on a small project of its own (pytester).

An unlocked counter's test fails under ``--preempt 0.3 --preempt-seed 1 --preempt-target
mymod`` and passes without it; its locked twin passes both ways; the failure names the seed,
the probability, the targets, the threads' last hand-over lines and the replay command.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.thread_unsafe(reason="runs a pytest session in-process (pytester)")

GIL_ON = getattr(sys, "_is_gil_enabled", lambda: True)()

MYMOD = """
import threading


class Counter:
    def __init__(self):
        self.n = 0

    def add(self, times):
        for _ in range(times):
            self.n += 1


class LockedCounter(Counter):
    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()

    def add(self, times):
        for _ in range(times):
            with self._lock:
                self.n += 1
"""

TESTS = """
import threading

import mymod


def hammer(counter, threads=4, times=2000):
    workers = [threading.Thread(target=counter.add, args=(times,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert counter.n == threads * times


def test_unlocked_counter():
    hammer(mymod.Counter())


def test_locked_counter():
    hammer(mymod.LockedCounter())
"""

# The outer run's plugins (run-parallel, timeout...) stay loaded; these keep the inner run plain.
PLAIN = ["-p", "no:run-parallel", "-p", "no:cacheprovider"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(mymod=MYMOD, test_counter=TESTS)
    return pytester


def test_plugin_is_registered_through_the_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("cortex-preempt") == "cortex.testing.pytest_plugin"


@pytest.mark.skipif(not GIL_ON, reason="without the GIL the counter loses updates unforced")
def test_without_preempt_both_counters_pass(project: pytest.Pytester) -> None:
    result = project.runpytest(*PLAIN)
    result.assert_outcomes(passed=2)
    assert "preempt:" not in result.stdout.str()


@pytest.mark.twin
def test_preempt_fails_the_unlocked_counter_catches_and_passes_the_locked(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest(
        "--preempt", "0.3", "--preempt-seed", "1", "--preempt-target", "mymod", *PLAIN
    )
    result.assert_outcomes(failed=1, passed=1)
    out = result.stdout.str()
    assert "FAILED test_counter.py::test_unlocked_counter" in out
    result.stdout.fnmatch_lines(
        [
            "preempt: probability=0.3 seed=1 targets=mymod",  # the header
            "*- preemption -*",  # the failure's section
            "preemption seed=1 probability=0.3 targets=mymod backend=sys.*",
            "  Thread-* (add) (#1): preempted most at mymod.py:*",
            "    last hand-overs (newest first): mymod.py:*",
            "replay: pytest --preempt 0.3 --preempt-seed 1 --preempt-target 'mymod' "
            "'test_counter.py::test_unlocked_counter'",
        ]
    )
    # the lines where threads were preempted are the counter's
    assert "mymod.py:10 x" in out  # self.n += 1


def test_default_targets_are_the_rootdir_modules(project: pytest.Pytester) -> None:
    result = project.runpytest("--preempt", "0.3", "--preempt-seed", "1", *PLAIN)
    result.stdout.fnmatch_lines(["preempt: probability=0.3 seed=1 targets=mymod"])
    result.assert_outcomes(failed=1, passed=1)


def test_seed_is_drawn_and_printed_when_not_given(project: pytest.Pytester) -> None:
    result = project.runpytest("--preempt", "0", "-k", "locked", *PLAIN)
    result.stdout.fnmatch_lines(["preempt: probability=0 seed=* targets=mymod"])
    result.stdout.fnmatch_lines(["preempt: *: 0 forced switches in 2 tests"])


def test_a_drawn_seed_is_the_one_tests_read_from_the_option(project: pytest.Pytester) -> None:
    # A test that opens its own block (the twin-detection tests) takes the run's seed.
    project.makepyfile(
        test_seed="""
        def test_print_seed(request):
            print("option seed", request.config.getoption("preempt_seed"))
        """
    )
    result = project.runpytest("--preempt", "0", "-s", "test_seed.py", *PLAIN)
    header = next(line for line in result.outlines if line.startswith("preempt: probability"))
    seed = header.split("seed=")[1].split()[0]
    result.stdout.fnmatch_lines([f"*option seed {seed}*"])
    result.assert_outcomes(passed=1)


def test_no_preempt_marker_runs_a_test_without(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_marked="""
        import pytest
        import test_counter
        import mymod

        @pytest.mark.no_preempt
        def test_unlocked_unforced():
            test_counter.hammer(mymod.Counter())
        """
    )
    result = project.runpytest(
        "--preempt", "0.3", "--preempt-target", "mymod", "test_marked.py", *PLAIN
    )
    if GIL_ON:
        result.assert_outcomes(passed=1)


def test_a_bad_probability_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--preempt", "2", *PLAIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--preempt takes a probability in [[]0, 1], not 2.0*"])
