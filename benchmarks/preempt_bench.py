#!/usr/bin/env python3
"""Benchmark the ways of making races show on this interpreter; write the results as JSON.

Run from the repository root, in the project's environment::

    python benchmarks/preempt_bench.py                      # benchmarks/results/preempt_<tag>.json
    python benchmarks/preempt_bench.py /tmp/preempt.json

What it measures (every figure next to the interpreter that produced it):

1. A tiny switch interval: ``THREADS`` threads each add 1 to an attribute
   ``COUNTER_ADDS`` times, with :func:`sys.setswitchinterval` at 1 us and at the default,
   no other help: updates lost per run.
2. Forced interleaving (:func:`cortex.testing.preempt.preemption` at the default
   probability) on the same unlocked counter, smaller: updates lost per run, per seed.
3. The hand-over primitive: one ``time.sleep(0)`` against one ``os.sched_yield()``.
4. Slowdown per target module: a few threads working on each shared object of the stress
   suite, timed plain and under forced interleaving of that module alone and of all of
   ``cortex``.
5. Detection: for every unsafe twin in :mod:`cortex.demos.detection`, how many runs of its
   stress-size model (the size a forced-interleaving test uses) it takes to fail, plain, at
   a 1 us switch interval, and under forced interleaving at the default probability for
   each of ``DETECTION_SEEDS`` (target: the first run at every seed) and at other
   probabilities; the same for the small two-thread model that exploration uses (forced,
   and the schedules ``interleave-test`` needs); and how much slower the fix's stress model
   runs under forced interleaving.

It takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from cortex.demos.detection import DetectionTwin, detection_twins  # noqa: E402
from cortex.demos.interleavings import STRESS_OPERATIONS, STRESS_THREADS  # noqa: E402
from cortex.runtime import runtime_facts  # noqa: E402
from cortex.testing.preempt import DEFAULT_PROBABILITY, preemption  # noqa: E402

THREADS = 8
COUNTER_ADDS = 200_000  # per thread, for the switch interval (the figure)
PREEMPT_ADDS = 2_000  # per thread, under forced interleaving
REPEATS = 3
SEEDS = (1, 2, 3)  # of the forced counter
DETECTION_SEEDS = tuple(range(1, 11))  # detection: runs to the first failure, per seed
WORKERS = 4  # threads per module workload
MAX_RUNS = 100  # detection gives up after this many runs (or schedules)
PROBABILITIES = (0.1, 0.3, 0.5)  # detection is also measured at these


class Counter:
    """The unlocked read-modify-write every page starts from."""

    def __init__(self) -> None:
        self.hits = 0

    def add(self, times: int) -> None:
        for _ in range(times):
            self.hits += 1


def together(fn: Callable[[int], object], threads: int) -> None:
    """Run ``fn(i)`` in ``threads`` threads released from one barrier; re-raise a failure."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            fn(index)
        except BaseException as error:  # reported below
            errors.append(error)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]


@contextlib.contextmanager
def switch_interval(seconds: float) -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def lost_updates(adds: int) -> int:
    counter = Counter()
    together(lambda _i: counter.add(adds), THREADS)
    return THREADS * adds - counter.hits


def measure_switch_interval() -> dict[str, Any]:
    out: dict[str, Any] = {"threads": THREADS, "adds_per_thread": COUNTER_ADDS}
    for label, seconds in (("1us", 1e-6), ("default", sys.getswitchinterval())):
        with switch_interval(seconds):
            runs = [lost_updates(COUNTER_ADDS) for _ in range(REPEATS)]
        out[label] = {"interval_s": seconds, "lost_per_run": runs}
        print(f"  interval {seconds:g} s: lost {runs} of {THREADS * COUNTER_ADDS:,} per run")
    return out


def measure_forced_counter() -> dict[str, Any]:
    runs = []
    for seed in SEEDS:
        counter = Counter()
        started = time.perf_counter()
        with preemption(DEFAULT_PROBABILITY, seed=seed, targets=[__name__]) as run:
            together(lambda _i, c=counter: c.add(PREEMPT_ADDS), THREADS)
        elapsed = time.perf_counter() - started
        runs.append(
            {
                "seed": seed,
                "lost": THREADS * PREEMPT_ADDS - counter.hits,
                "switches": run.switches,
                "seconds": round(elapsed, 3),
            }
        )
        print(
            f"  seed {seed}: lost {runs[-1]['lost']:,} of {THREADS * PREEMPT_ADDS:,} "
            f"({run.switches:,} forced switches, {elapsed:.2f} s, {run.backend})"
        )
    return {
        "threads": THREADS,
        "adds_per_thread": PREEMPT_ADDS,
        "probability": DEFAULT_PROBABILITY,
        "backend": run.backend,
        "runs": runs,
    }


def per_call_us(fn: Callable[[], object], number: int = 5_000) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - started) / number)
    return best * 1e6


# ---- 4. slowdown per target module --------------------------------------------------------
Workload = Callable[[int], None]


def module_workloads(workdir: Path) -> list[tuple[str, Workload, Callable[[], None]]]:
    """``(module, work(i), close)`` for each shared object of the stress suite."""
    from cortex.config_manager import ConfigManager  # noqa: PLC0415
    from cortex.context_memory import ContextMemory, MemoryEntry  # noqa: PLC0415
    from cortex.dependency_resolver import generate_index_text, parse_packages  # noqa: PLC0415
    from cortex.installation_history import InstallationHistory, InstallationType  # noqa: PLC0415
    from cortex.llm_router import LLMRouter  # noqa: PLC0415
    from cortex.logging_system import CortexLogger  # noqa: PLC0415
    from cortex.notification_manager import NotificationManager  # noqa: PLC0415
    from cortex.parallel_llm import ParallelLLMExecutor, create_package_queries  # noqa: PLC0415
    from cortex.progress_indicators import FallbackProgress  # noqa: PLC0415
    from cortex.semantic_cache import SemanticCache  # noqa: PLC0415
    from cortex.transaction_history import TransactionHistory, TransactionType  # noqa: PLC0415

    class _Probe:  # no dpkg: the package state does not matter here
        def state(self, package: str) -> Any:
            from cortex.transaction_history import PackageState  # noqa: PLC0415

            return PackageState(name=package)

    cache = SemanticCache(str(workdir / "cache.db"))
    for n in range(10):
        cache.put_commands(f"install p{n}", "offline", "m", "s", [f"apt-get install -y p{n}"])
    transactions = TransactionHistory(workdir / "tx.db", probe=_Probe())
    installs = InstallationHistory(str(workdir / "history.db"))
    memory = ContextMemory(str(workdir / "memory.db"))
    config = ConfigManager(config_dir=workdir / "config")
    notes = NotificationManager(
        config_dir=workdir / "notify", history_limit=1000, notifier=lambda _argv: True
    )
    logger = CortexLogger("bench", log_dir=workdir / "logs", console_level="CRITICAL")
    router = LLMRouter(
        environ={}, index=parse_packages(generate_index_text(300)), offline_latency=0
    )
    executor = ParallelLLMExecutor(router, max_concurrent=4, requests_per_second=0)
    spinner = FallbackProgress(stream=io.StringIO())
    spinner.start("bench")

    def add_one(prefs: dict[str, object]) -> dict[str, object]:
        prefs["counter"] = int(str(prefs.get("counter", 0))) + 1
        return prefs

    def each(times: int, op: Callable[[int, int], object]) -> Workload:
        def work(i: int) -> None:
            for k in range(times):
                op(i, k)

        return work

    return [
        (
            "cortex.semantic_cache",
            each(
                50, lambda i, k: cache.get_commands(f"install p{(i + k) % 10}", "offline", "m", "s")
            ),
            lambda: None,
        ),
        (
            "cortex.transaction_history",
            each(
                5,
                lambda i, k: transactions.complete_transaction(
                    transactions.begin_transaction(
                        TransactionType.INSTALL, [f"p{i}x{k}"], "apt install"
                    ),
                    True,
                    None,
                ),
            ),
            lambda: None,
        ),
        (
            "cortex.installation_history",
            each(
                5,
                lambda i, k: installs.record_installation(
                    InstallationType.INSTALL,
                    [f"p{i}x{k}"],
                    [f"apt-get install -y p{i}x{k}"],
                    datetime(2026, 1, 1, tzinfo=timezone.utc),
                ),
            ),
            lambda: None,
        ),
        (
            "cortex.context_memory",
            each(
                5,
                lambda i, k: memory.record_interaction(
                    MemoryEntry(category="install", context=f"c{i}", action="a", result="ok")
                ),
            ),
            lambda: None,
        ),
        (
            "cortex.config_manager",
            each(3, lambda i, k: config.update_preferences(add_one)),
            lambda: None,
        ),
        (
            "cortex.notification_manager",
            each(5, lambda i, k: notes.send(f"t{i}", "m")),
            lambda: None,
        ),
        (
            "cortex.logging_system",
            each(20, lambda i, k: logger.info(f"line {i} {k}")),
            lambda: None,
        ),
        (
            "cortex.llm_router",
            each(10, lambda i, k: router.complete([{"role": "user", "content": "install nginx"}])),
            lambda: None,
        ),
        (
            "cortex.parallel_llm",
            each(
                1, lambda i, k: executor.execute_batch(create_package_queries(["nginx", "redis"]))
            ),
            lambda: None,
        ),
        (
            "cortex.progress_indicators",
            each(50, lambda i, k: spinner.update(f"step {i} {k}")),
            spinner.stop,
        ),
    ]


def timed(work: Workload, targets: list[str] | None) -> tuple[float, int]:
    started = time.perf_counter()
    if targets is None:
        together(work, WORKERS)
        return time.perf_counter() - started, 0
    with preemption(DEFAULT_PROBABILITY, seed=1, targets=targets) as run:
        together(work, WORKERS)
    return time.perf_counter() - started, run.switches


def measure_modules(workdir: Path) -> list[dict[str, Any]]:
    from cortex.utils.db_pool import close_all_pools  # noqa: PLC0415

    rows = []
    try:
        for module, work, close in module_workloads(workdir):
            together(work, WORKERS)  # warm up: files created, imports done
            plain = min(timed(work, None)[0] for _ in range(REPEATS))
            alone, alone_switches = timed(work, [module])
            whole, whole_switches = timed(work, ["cortex"])
            close()
            rows.append(
                {
                    "module": module,
                    "plain_s": round(plain, 4),
                    "module_s": round(alone, 4),
                    "cortex_s": round(whole, 4),
                    "slowdown_module": round(alone / plain, 1),
                    "slowdown_cortex": round(whole / plain, 1),
                    "switches_module": alone_switches,
                    "switches_cortex": whole_switches,
                }
            )
            print(
                f"  {module:<30} plain {plain * 1000:8.1f} ms  x{alone / plain:6.1f} "
                f"(module)  x{whole / plain:6.1f} (all of cortex)"
            )
    finally:
        close_all_pools()
    return rows


# ---- 5. detection of the unsafe twins -----------------------------------------------------
def runs_to_failure(
    model: Callable[[], None], wrap: Callable[[int], contextlib.AbstractContextManager[object]]
) -> int | None:
    """The 1-based run in which ``model`` first failed, each run inside ``wrap(run)``."""
    for n in range(MAX_RUNS):
        try:
            with wrap(n):
                model()
        except AssertionError:
            return n + 1
    return None


def explored(twin: DetectionTwin) -> int | None:
    """Schedules ``interleave-test`` ran to the first failure of the small model (3.12+)."""
    from cortex.demos import interleavings  # noqa: PLC0415

    if not interleavings.EXPLORER:
        return None
    report = interleavings.show_race(twin.unsafe, targets=twin.targets, budget=MAX_RUNS, seed=1)
    return report.tried if report.found else 0


def fixed_slowdown(twin: DetectionTwin) -> float | None:
    """One run of the fix's stress model under forced interleaving against one without."""
    if twin.fixed_stress is None:
        return None
    fixed = twin.fixed_stress
    started = time.perf_counter()
    for _ in range(REPEATS):
        fixed()
    plain = time.perf_counter() - started
    started = time.perf_counter()
    for seed in range(REPEATS):
        with preemption(DEFAULT_PROBABILITY, seed=seed, targets=list(twin.targets)):
            fixed()
    forced = time.perf_counter() - started
    return round(forced / max(plain, 1e-9), 1)


def measure_twins(tmp: Path) -> list[dict[str, Any]]:
    from cortex.utils.db_pool import close_all_pools  # noqa: PLC0415

    rows = []
    try:
        rows = [_measure_twin(twin) for twin in detection_twins(tmp)]
    finally:
        close_all_pools()
    return rows


def _measure_twin(twin: DetectionTwin) -> dict[str, Any]:
    def forced(
        seed0: int, probability: float = DEFAULT_PROBABILITY
    ) -> Callable[[int], contextlib.AbstractContextManager[object]]:
        targets = list(twin.targets)
        return lambda n: preemption(probability, seed=seed0 + n, targets=targets)

    def per_seed(model: Callable[[], None], probability: float) -> list[int | None]:
        return [
            runs_to_failure(model, forced(seed * 1000, probability)) for seed in DETECTION_SEEDS
        ]

    started = time.perf_counter()
    plain = runs_to_failure(twin.unsafe_stress, lambda _n: contextlib.nullcontext())
    tiny = runs_to_failure(twin.unsafe_stress, lambda _n: switch_interval(1e-6))
    firsts = per_seed(twin.unsafe_stress, DEFAULT_PROBABILITY)
    one_run = (time.perf_counter() - started) / max(1, sum(v or MAX_RUNS for v in firsts))
    sweep = {f"{p:g}": per_seed(twin.unsafe_stress, p) for p in PROBABILITIES}
    small = per_seed(twin.unsafe, DEFAULT_PROBABILITY)
    schedules = explored(twin)
    slowdown = fixed_slowdown(twin)
    row = {
        "twin": twin.name,
        "targets": list(twin.targets),
        "seeds": list(DETECTION_SEEDS),
        "plain_runs_to_first_failure": [plain],
        "interval_1us_runs_to_first_failure": [tiny],
        "runs_to_first_failure": firsts,
        "runs_to_first_failure_by_probability": sweep,
        "small_model_runs_to_first_failure": small,
        "explored_schedules_to_failure": schedules,
        "max_runs": MAX_RUNS,
        "fixed_slowdown": slowdown,
    }
    print(
        f"  {twin.name:<38} plain {plain}, 1us {tiny}, forced {firsts} "
        f"(~{one_run * 1000:.0f} ms per run incl. plain), small model {small}, "
        f"explored {schedules}; fix x{slowdown}"
    )
    return row


def main(argv: list[str] | None = None) -> int:
    """Measure, write the JSON, return 1 when a target was missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "output",
        nargs="?",
        type=Path,
        default=None,
        help="JSON file to write (default: benchmarks/results/preempt_<tag>.json)",
    )
    args = parser.parse_args(argv)
    facts = runtime_facts()
    if args.output is None:
        major, minor = facts.python_version.split(".")[:2]
        tag = f"cp{major}{minor}{'t' if facts.free_threaded_build else ''}"
        args.output = ROOT / "benchmarks" / "results" / f"preempt_{tag}.json"
    started = time.perf_counter()
    print(f"[{facts.banner()}]")
    print("1. a tiny switch interval, no other help")
    interval = measure_switch_interval()
    print(f"2. forced interleaving at p={DEFAULT_PROBABILITY}")
    forced = measure_forced_counter()
    print("3. the hand-over primitive")
    sleep0 = per_call_us(lambda: time.sleep(0))
    yield_us = per_call_us(os.sched_yield) if hasattr(os, "sched_yield") else float("nan")
    print(f"  time.sleep(0) {sleep0:.1f} us, os.sched_yield() {yield_us:.1f} us")
    print("4. slowdown per target module")
    with tempfile.TemporaryDirectory(prefix="preempt-bench-") as tmp:
        modules = measure_modules(Path(tmp))
    print("5. detection of the unsafe twins")
    with tempfile.TemporaryDirectory(prefix="preempt-twins-") as tmp:
        found = measure_twins(Path(tmp))
    figures = {
        "switch_interval_1us_lost_max": {
            "value": max(interval["1us"]["lost_per_run"]),
            "unit": f"of {THREADS * COUNTER_ADDS:,} adds",
        },
        "forced_lost_min": {
            "value": min(r["lost"] for r in forced["runs"]),
            "unit": f"of {THREADS * PREEMPT_ADDS:,} adds",
        },
        "sleep0_us": {"value": round(sleep0, 2), "unit": "us/call"},
        "sched_yield_us": {"value": round(yield_us, 2), "unit": "us/call"},
        "slowdown_cortex_median": {
            "value": statistics.median(r["slowdown_cortex"] for r in modules) if modules else 0,
            "unit": "x",
        },
    }
    targets = {
        "every twin fails in its first run, at every seed": bool(found)
        and all(all(n == 1 for n in row["runs_to_first_failure"]) for row in found),
        "forced interleaving loses updates": figures["forced_lost_min"]["value"] > 0,
    }
    document = {
        "banner": facts.banner(),
        "runtime": facts.as_dict(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "probability": DEFAULT_PROBABILITY,
        "switch_interval": interval,
        "forced_counter": forced,
        "modules": modules,
        "twins": found,
        "stress_model": {"threads": STRESS_THREADS, "operations_per_thread": STRESS_OPERATIONS},
        "figures": figures,
        "targets": targets,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    for name, met in targets.items():
        print(f"target {name}: {'met' if met else 'MISSED'}")
    print(f"wrote {args.output} in {document['seconds']} s [{facts.banner()}]")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
