"""Forced interleaving (:mod:`cortex.testing.preempt`): it splits what a GIL build never splits.

An unlocked ``self.n += 1`` loses updates under :func:`preemption` on every interpreter, its
locked twin never does, and the hooks cover pool threads and leave nothing behind.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cortex.testing import DEFAULT_PROBABILITY, TargetMatcher, active_run, preemption

pytestmark = pytest.mark.thread_unsafe(
    reason="a preemption block hooks the whole process: copies would nest blocks across threads"
)


THREADS = 4
PER_THREAD = 2_000
BACKENDS = ["settrace", "monitoring"] if sys.version_info >= (3, 12) else ["settrace"]


class Counter:
    """The pattern under test: a read-modify-write of an attribute, with and without a lock."""

    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()  # guards n in add_locked

    def add(self, times: int) -> None:
        for _ in range(times):
            self.n += 1

    def add_locked(self, times: int) -> None:
        for _ in range(times):
            with self._lock:
                self.n += 1


def _run_threads(work: object, pool: bool = False) -> None:
    assert callable(work)
    if pool:
        with ThreadPoolExecutor(THREADS) as executor:
            list(executor.map(work, [PER_THREAD] * THREADS))
        return
    threads = [threading.Thread(target=work, args=(PER_THREAD,)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.twin
@pytest.mark.parametrize("backend", BACKENDS)
def test_unlocked_counter_twin_loses_updates_under_preemption(backend: str) -> None:
    counter = Counter()
    with preemption(DEFAULT_PROBABILITY, seed=1, targets=[__name__], backend=backend) as run:  # type: ignore[arg-type]
        _run_threads(counter.add)
    assert counter.n < THREADS * PER_THREAD, run.report()
    assert run.switches > 0
    assert run.backend == f"sys.{backend}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_locked_counter_keeps_every_update_under_preemption(backend: str) -> None:
    counter = Counter()
    with preemption(DEFAULT_PROBABILITY, seed=1, targets=[__name__], backend=backend) as run:  # type: ignore[arg-type]
        _run_threads(counter.add_locked)
    assert counter.n == THREADS * PER_THREAD
    assert run.switches > 0, run.describe()


@pytest.mark.twin
def test_pool_threads_started_inside_the_block_are_preempted() -> None:
    counter = Counter()
    with preemption(0.2, seed=3, targets=[__name__]) as run:
        _run_threads(counter.add, pool=True)
    assert counter.n < THREADS * PER_THREAD, run.report()
    # the pool's workers were numbered in start order: their sites are in the report
    assert "ThreadPoolExecutor" in run.report()


def test_without_preemption_the_gil_never_splits_the_increment() -> None:
    # The control: on a GIL build the same code keeps every update (free-threaded: skip).
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        pytest.skip("the GIL is disabled: the unlocked counter may lose updates on its own")
    counter = Counter()
    _run_threads(counter.add)
    assert counter.n == THREADS * PER_THREAD


def test_report_names_the_seed_probability_targets_and_sites() -> None:
    counter = Counter()
    with preemption(0.3, seed=7, targets=[__name__, "other.*"]) as run:
        _run_threads(counter.add)
    text = run.report()
    assert "seed=7" in text
    assert "probability=0.3" in text
    assert f"targets={__name__},other.*" in text
    assert "test_preempt.py:" in text  # the line of self.n += 1, where threads were preempted
    assert run.threads >= THREADS
    assert run.events >= run.switches > 0


def test_same_seed_same_decisions_per_thread() -> None:
    # Threads that stay alive until all are done see the same decisions for the same seed:
    # a thread's generator depends only on the seed and the order it was started in.
    def one_run(seed: int) -> list[int]:
        counter = Counter()
        done = threading.Barrier(THREADS)

        def work(times: int) -> None:
            counter.add_locked(times // 10)
            done.wait()

        with preemption(0.2, seed=seed, targets=[__name__]) as run:
            _run_threads(work)
        return sorted(s.switches for s in run._states if s.order != "0")

    assert one_run(11) == one_run(11)
    assert one_run(11) != one_run(12)


def test_hooks_are_removed_after_the_block() -> None:
    before = sys.gettrace()
    with preemption(0.5, seed=0, targets=[__name__]):
        assert active_run() is not None
    assert active_run() is None
    assert sys.gettrace() is before
    assert threading.Thread.start.__qualname__ == "Thread.start"
    if sys.version_info >= (3, 12):
        assert all(sys.monitoring.get_tool(t) != "cortex.testing.preempt" for t in range(6))  # type: ignore[attr-defined,unused-ignore]
    counter = Counter()
    _run_threads(counter.add)  # no hook left behind: nothing is forced any more
    if getattr(sys, "_is_gil_enabled", lambda: True)():
        assert counter.n == THREADS * PER_THREAD


def test_an_inner_block_takes_over_and_the_outer_one_resumes() -> None:
    with preemption(0.1, seed=1, targets=[__name__]) as outer:
        with preemption(0.2, seed=2, targets=["elsewhere"]) as inner:
            assert active_run() is inner
            suspended = not outer.active
        assert suspended
        assert active_run() is outer
        assert outer.active
        counter = Counter()
        _run_threads(counter.add)  # the outer block works again after the inner one
    assert counter.n < THREADS * PER_THREAD, outer.report()
    assert active_run() is None


def test_a_block_from_another_thread_is_refused() -> None:
    errors: list[BaseException] = []

    def enter() -> None:
        try:
            with preemption(0.1, targets=[__name__]):
                pass
        except RuntimeError as error:
            errors.append(error)

    with preemption(0.1, targets=["elsewhere"]):
        thread = threading.Thread(target=enter)
        thread.start()
        thread.join()
    assert len(errors) == 1
    assert "another thread" in str(errors[0])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="probability"), preemption(1.5, targets=[__name__]):
        pass
    with pytest.raises(TypeError):
        TargetMatcher("cortex")
    with pytest.raises(ValueError, match="target"):
        TargetMatcher([" "])


def test_default_target_is_the_callers_top_level_package() -> None:
    with preemption(0.0) as run:
        pass
    assert run.targets == (__name__.partition(".")[0],)


def test_seed_none_draws_and_records_one() -> None:
    with preemption(0.0, seed=None, targets=[__name__]) as run:
        pass
    assert isinstance(run.seed, int)


@pytest.mark.parametrize(
    ("patterns", "module", "expected"),
    [
        (["cortex"], "cortex", True),
        (["cortex"], "cortex.utils.db_pool", True),
        (["cortex"], "cortexish", False),
        (["cortex.demos.*"], "cortex.demos.singletons", True),
        (["cortex.demos.*"], "cortex.config_manager", False),
        (["mymod"], "mymod", True),
        (["*"], "threading", False),  # the standard library, never
        (["*"], "concurrent.futures.thread", False),
        (["*"], "_pytest.runner", False),  # nor pytest
        (["*"], "pluggy._hooks", False),
        (["cortex"], "cortex.testing.preempt", False),  # nor the preemption itself
        (["*"], None, False),
    ],
)
def test_target_matcher(patterns: list[str], module: str | None, expected: bool) -> None:
    assert TargetMatcher(patterns)(module) is expected


def test_make_stress_uses_the_default_probability() -> None:
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "tools" / "dev.py").read_text()
    values = {
        target.id: ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.startswith("STRESS_")
    }
    assert values["STRESS_PROBABILITY"] == DEFAULT_PROBABILITY
    assert len(values["STRESS_SEEDS"]) >= 3
