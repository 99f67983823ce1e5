"""Show a race, and show its fix holding, by controlling thread switches on any build.

A *model* is a zero-argument function that builds fresh state, starts a few threads with
:func:`start_together`, joins them and asserts the invariant the race breaks (one instance,
no lost update). It contains no sleep: the interleaving is chosen from outside.

* On Python 3.12+ the model runs under ``interleave-test``, a controlled scheduler that
  serialises the threads and picks which one runs at every bytecode of the traced code
  (PCT, bounded DFS or uniform random schedules). A failing schedule is returned as JSON
  and :func:`replay` runs it again, instruction for instruction (on the same interpreter
  version: schedules count bytecodes).
* On 3.10 and 3.11 (``interleave-test`` needs ``sys.monitoring``) the same model runs under
  forced interleaving (``cortex.testing.preempt.preemption``): real threads, with the
  GIL handed over between bytecodes of the target modules at random, seeded points.

What neither models: anything below the Python code (C extensions run atomically, so
SQLite's own locking and file-system ordering are not explored), other processes, and
timing. Races that need those are shown with real processes and real kills instead.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EXPLORER",
    "PREEMPT_PROBABILITY",
    "RUNS_PER_SCHEDULE",
    "STEP_TIMEOUT_S",
    "STRESS_OPERATIONS",
    "STRESS_THREADS",
    "FixCheck",
    "RaceReport",
    "check_fix",
    "forced_run",
    "lockstep",
    "method_note",
    "replay",
    "show_race",
    "start_together",
]

Model = Callable[[], None]

EXPLORER: bool = (
    sys.version_info >= (3, 12) and importlib.util.find_spec("interleave_test") is not None
)
"""True when ``interleave-test`` can run here (3.12+ and installed); else forced interleaving."""

PREEMPT_PROBABILITY = 0.3
"""Chance of a forced hand-over at each bytecode of the targets (the fallback)."""

RUNS_PER_SCHEDULE = 10
"""Forced-interleaving runs :func:`show_race` allows per schedule of its budget: a run is a
random sample, not a chosen schedule, and on 3.10 a two-thread race shows in about one run
of fifty (measured: within 25 to 92 runs for seeds 0-2)."""


STRESS_THREADS = 4
"""Threads of a model's *stress* size, the one a forced-interleaving run uses."""

STRESS_OPERATIONS = 50
"""Operations per thread of a model's stress size. A model explored by a controlled scheduler
is two threads with one operation each, so that exploration stays tractable; one random run
of that finds the race only if a hand-over lands inside a window of a few bytecodes, so a
forced-interleaving run (a test under ``pytest --preempt``, the benchmark) uses this size,
as a real test would, and the race shows in its first run."""

# The real class, captured at import: a controlled scheduler replaces ``threading.Thread``
# during its runs, and then decides itself who runs.
_REAL_THREAD = threading.Thread


def method_note() -> str:
    """One line naming what explores the interleavings on this interpreter."""
    if EXPLORER:
        import interleave_test  # noqa: PLC0415

        return f"deterministic exploration (interleave-test {interleave_test.__version__})"
    return f"forced interleaving (cortex.testing.preempt, p={PREEMPT_PROBABILITY})"


def start_together(*functions: Callable[[], object]) -> None:
    """Run each function in its own thread, released together from a barrier; join them all.

    ``threading`` is looked up at call time, so under exploration these are the scheduler's
    controlled threads (and the scheduler decides who runs: no barrier needed); otherwise
    (forced interleaving, on any version) they are real ones, released together from a
    barrier, so that no thread finishes before the last one has started.
    """
    targets: list[Callable[[], object]] = list(functions)
    if threading.Thread is _REAL_THREAD:
        barrier = threading.Barrier(len(functions))

        def released(fn: Callable[[], object]) -> Callable[[], object]:
            def run() -> None:
                barrier.wait()
                fn()

            return run

        targets = [released(fn) for fn in functions]
    threads = [threading.Thread(target=fn) for fn in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


STEP_TIMEOUT_S = 60.0
"""Longest wait at a :func:`lockstep` step before it breaks instead of hanging."""


def lockstep(parties: int) -> Callable[[], None]:
    """A step for a stress model's threads: each call returns once all ``parties`` made it.

    Called before each operation, it makes every operation a race of all the threads:
    without it, a thread that gets ahead on keys asked in the same order (a lazy holder, a
    package to resolve) never meets the others on a key again. The race window stays the
    code's own; the step only makes the callers arrive together, as simultaneous requests
    do. A thread that stops early breaks the step after :data:`STEP_TIMEOUT_S` seconds
    (:class:`threading.BrokenBarrierError`) rather than leaving the others waiting.
    """
    barrier = threading.Barrier(parties, timeout=STEP_TIMEOUT_S)

    def step() -> None:
        barrier.wait()

    return step


@dataclass(frozen=True)
class RaceReport:
    """What :func:`show_race` found."""

    found: bool
    budget: int
    """Schedules (or forced-interleaving runs) allowed."""
    tried: int
    """Schedules (or runs) actually run, the failing one included."""
    seed: int
    method: str
    strategy: str
    error: str = ""
    """The model's assertion message on the failing schedule."""
    schedule_json: str | None = None
    """The failing schedule, replayable with :func:`replay` (exploration only)."""

    def __str__(self) -> str:
        """A line that reads the same on every interpreter (no schedule numbers)."""
        if self.found:
            return f"race shown: yes: {self.error}"
        return "race shown: no"

    def details(self) -> str:
        """Where it was found and how: interpreter-dependent, for ignored notebook cells."""
        unit = "run" if self.strategy == "random hand-overs" else "schedule"
        where = f"{unit} {self.tried} of {self.budget}" if self.found else "not found"
        return f"{self.method}, {self.strategy}, seed {self.seed}: {where}"


@dataclass(frozen=True)
class FixCheck:
    """What :func:`check_fix` ran: one entry per strategy."""

    held: bool
    runs: tuple[tuple[str, int, bool], ...]
    """``(strategy, schedules run, bounded space exhausted)`` for each strategy."""
    method: str
    error: str = ""

    def __str__(self) -> str:
        """A line that reads the same on every interpreter."""
        if self.held:
            return "fix held under every schedule tried: yes"
        return f"fix held under every schedule tried: NO: {self.error}"

    def details(self) -> str:
        """How many schedules each strategy ran (interpreter-dependent)."""
        parts = [
            f"{name}: {count} "
            + ("runs" if name == "random hand-overs" else "schedules")
            + (" (bounded space exhausted)" if done else "")
            for name, count, done in self.runs
        ]
        return f"{self.method}: " + "; ".join(parts)


def _explore(
    model: Model, *, strategy: str, budget: int, seed: int, max_preemptions: int = 2
) -> tuple[int, bool, str, str | None]:
    """``(schedules run, exhausted, error, schedule json)``; error is empty if it held."""
    import interleave_test as it  # noqa: PLC0415 - 3.12+ only

    try:
        result = it.explore(
            model,
            iterations=budget,
            seed=seed,
            strategy=strategy,
            max_preemptions=max_preemptions,
        )
    except it.RaceFound as found:
        failure: Any = found.failure  # declared as None on the class by interleave-test
        if failure is None:  # pragma: no cover - interleave-test always attaches it
            raise
        error = str(failure.exception) or type(failure.exception).__name__
        return failure.iteration + 1, False, error, failure.schedule.to_json()
    return result.schedules_run, bool(result.exhausted), "", None


def _preempt(model: Model, *, budget: int, seed: int, targets: Sequence[str]) -> tuple[int, str]:
    """``(runs, error)`` under forced interleaving; error is empty if every run held."""
    from cortex.testing.preempt import preemption  # noqa: PLC0415 - the fallback

    # A forced hand-over releases the GIL, but on 3.10 and 3.11 the releasing thread takes
    # it straight back unless another one has asked for it, which a waiting thread only does
    # after the switch interval. A tiny interval makes each hand-over an actual switch.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for run in range(budget):
            try:
                with preemption(
                    probability=PREEMPT_PROBABILITY, seed=seed + run, targets=list(targets)
                ):
                    model()
            except AssertionError as failed:
                return run + 1, str(failed) or "AssertionError"
    finally:
        sys.setswitchinterval(previous)
    return budget, ""


def forced_run(
    model: Model,
    *,
    targets: Sequence[str],
    seed: int,
    probability: float = PREEMPT_PROBABILITY,
) -> str:
    """Run ``model`` once under forced interleaving; its assertion message, ``""`` if it held.

    Meant for a model's stress size (see :data:`STRESS_OPERATIONS`), which shows its race in
    one run: on a twin the message is the evidence, on a fix it must be empty. Real
    threads, on any version (a controlled scheduler is not involved).
    """
    from cortex.testing.preempt import preemption  # noqa: PLC0415

    try:
        with preemption(probability, seed=seed, targets=list(targets)):
            model()
    except AssertionError as failed:
        return str(failed) or "AssertionError"
    return ""


def show_race(
    model: Model, *, targets: Sequence[str], budget: int = 300, seed: int = 1
) -> RaceReport:
    """Look for a schedule under which ``model`` fails (it should: it runs an unsafe twin).

    Args:
        model: the model, see the module docstring.
        targets: modules whose bytecode is interleaved under forced interleaving (module
            names or globs); exploration traces all non-library code anyway.
        budget: schedules to try before giving up (forced interleaving tries
            :data:`RUNS_PER_SCHEDULE` times as many runs).
        seed: makes the search reproducible.
    """
    if EXPLORER:
        tried, _done, error, schedule = _explore(model, strategy="pct", budget=budget, seed=seed)
        return RaceReport(
            found=bool(error),
            budget=budget,
            tried=tried,
            seed=seed,
            method=method_note(),
            strategy="PCT",
            error=error,
            schedule_json=schedule,
        )
    runs = budget * RUNS_PER_SCHEDULE
    tried, error = _preempt(model, budget=runs, seed=seed, targets=targets)
    return RaceReport(
        found=bool(error),
        budget=runs,
        tried=tried,
        seed=seed,
        method=method_note(),
        strategy="random hand-overs",
        error=error,
    )


def check_fix(
    model: Model,
    *,
    targets: Sequence[str],
    budget: int = 300,
    seed: int = 1,
    max_preemptions: int = 2,
) -> FixCheck:
    """Run ``model`` (on the fix) under ``budget`` PCT schedules and ``budget`` bounded-DFS ones.

    Under forced interleaving (3.10, 3.11) it runs ``budget`` seeded runs instead.
    """
    if not EXPLORER:
        count, error = _preempt(model, budget=budget, seed=seed, targets=targets)
        return FixCheck(
            held=not error,
            runs=(("random hand-overs", count, False),),
            method=method_note(),
            error=error,
        )
    runs: list[tuple[str, int, bool]] = []
    for name, strategy in (("PCT", "pct"), (f"DFS <= {max_preemptions} preemptions", "dfs")):
        count, done, error, _schedule = _explore(
            model, strategy=strategy, budget=budget, seed=seed, max_preemptions=max_preemptions
        )
        runs.append((name, count, done))
        if error:
            return FixCheck(held=False, runs=tuple(runs), method=method_note(), error=error)
    return FixCheck(held=True, runs=tuple(runs), method=method_note())


def replay(model: Model, schedule_json: str) -> str:
    """Run ``model`` once on a recorded schedule; the assertion message it fails with.

    Raises:
        RuntimeError: this interpreter has no explorer (3.10, 3.11), or the schedule held.
    """
    if not EXPLORER:
        raise RuntimeError("replay needs interleave-test (Python 3.12+)")
    import interleave_test as it  # noqa: PLC0415

    try:
        it.replay(model, schedule_json)
    except it.RaceFound as found:
        failure: Any = found.failure  # declared as None on the class by interleave-test
        if failure is None:  # pragma: no cover - interleave-test always attaches it
            raise
        return str(failure.exception) or type(failure.exception).__name__
    raise RuntimeError("the schedule did not reproduce the failure")
