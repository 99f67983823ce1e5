#!/usr/bin/env python3
"""Benchmark parallel LLM planning and CPU-bound dependency resolution; write JSON.

Run from the repository root, in the project's environment::

    python benchmarks/parallel_llm_bench.py                 # results/parallel_llm_<tag>.json
    python benchmarks/parallel_llm_bench.py --output x.json

What it measures (nothing leaves the machine):

0. What users get: 5 and 20 packages at the **default settings** (pool
   ``CORTEX_THREAD_POOL_SIZE``, limit ``CORTEX_RATE_LIMIT_RPS``) through the real HTTP path,
   the OpenAI-compatible provider talking to a loopback server the benchmark starts, at the
   seed's 3.6 s per answer run ``--scale`` times faster (labelled); the server counts the
   requests in flight. Targets: 5 packages >= 4.5x, 20 packages >= 9x.
1. 1, 3, 5, 10 and 20 packages: sequential vs the thread pool vs asyncio, rate limit off,
   beside the seed's *projected* table (5 packages 18 s -> 10 s, 20 packages 70 s -> 25 s).
   Target: speed-up >= 0.9 x min(packages, pool size). This is the ceiling.
2. The rate limit on: the measured start rate is never above the limit.
3. A pool-size sweep (1..32) for a rate-limited provider, the seed's situation at 1/20 scale.
4. Dependency resolution of 2,000 packages: one thread vs N threads vs N processes.

Sections 1 to 3 run ``--repeats`` times (default 3): each figure is the median of the
runs, stored with its minimum, maximum, the number of repeats and the machine's load
average before and after (:func:`cortex.demos.measure.combine_runs`, as in
``cache_bench.py``), under ``figures`` and in the section's own block. To keep the whole
benchmark near a minute, the figures that are sleeps by construction run once (``repeats``
1 in the JSON): the sequential baselines (``packages x latency``) and the pool sizes of 4
or fewer (``20 / pool`` rounds of the latency). Section 0's parallel batches are each the
median of 3; section 4 is the best of 2 timed runs after an untimed one (starting the
processes is too slow to repeat).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from cortex.demos.llm_bench import (  # noqa: E402
    SEED_PROJECTION,
    default_settings_runs,
    pool_sweep,
    rate_limited_run,
    time_engine,
    time_sequential,
)
from cortex.demos.measure import combine_runs, load_average  # noqa: E402
from cortex.demos.resolver_bench import ScalingResult, measure_scaling  # noqa: E402
from cortex.dependency_resolver import IndexSource  # noqa: E402
from cortex.parallel_llm import Engine, choose_engine  # noqa: E402
from cortex.runtime import load_settings, runtime_facts  # noqa: E402


def _tag() -> str:
    facts = runtime_facts()
    major_minor = "".join(facts.python_version.split(".")[:2])
    return f"cp{major_minor}{'t' if facts.free_threaded_build else ''}"


def _print_defaults(defaults: dict[str, Any]) -> None:
    print("0. At the default settings, through HTTP to a loopback OpenAI-compatible server")
    print(f"   ({defaults['label']}; pool {defaults['pool']})")
    print(
        f"   {'packages':>8} {'engine':>8} {'sequential':>10} {'parallel':>9} {'x':>6} "
        f"{'target':>6} {'peak in flight':>15}"
    )
    for row in defaults["rows"]:
        target = defaults["targets"][str(row["packages"])]
        print(
            f"   {row['packages']:>8} {row['engine']:>8} {row['sequential_s']:>9.2f}s "
            f"{row['parallel_s']:>8.2f}s {row['speedup']:>6.2f} {target:>6.1f}"
            f"{'' if row['speedup'] >= target else '!'} {row['peak_in_flight']:>15}"
        )
    print()


# Section 1's batch sizes and section 3's pool sizes; pools up to SLOW_POOLS run once.
PLANNING_SIZES = (1, 3, 5, 10, 20)
SLOW_POOLS = (1, 2, 4)
FAST_POOLS = (8, 10, 16, 20, 32)
SWEEP_POOLS = SLOW_POOLS + FAST_POOLS
ENGINES: tuple[Engine, ...] = ("threads", "asyncio")

Figures = dict[str, dict[str, Any]]


def _one_run(
    args: argparse.Namespace, pool: int, engine: Engine, sequential: Mapping[int, float]
) -> tuple[Figures, list[dict[str, Any]]]:
    """One run of sections 1 to 3 (the figures that repeat), and its rate-limited runs.

    Figures are ``{key: {"value": v, "unit": u}}``, as :func:`combine_runs` takes them; the
    speed-ups divide the once-measured ``sequential`` seconds by this run's.
    """
    figures: Figures = {}
    for n in PLANNING_SIZES:
        for name in ENGINES:
            seconds, _ = time_engine(n, args.latency, name, pool)
            figures[f"planning_{n}_{name}_s"] = {"value": seconds, "unit": "s"}
            figures[f"planning_{n}_{name}_speedup"] = {
                "value": sequential[n] / seconds,
                "unit": "x",
            }
    limited = [rate_limited_run(args.rps, latency=args.latency, engine=e) for e in ENGINES]
    for run in limited:
        key = f"rate_limited_{run['engine']}"
        figures[f"{key}_seconds"] = {"value": run["seconds"], "unit": "s"}
        figures[f"{key}_measured_rps"] = {"value": run["measured_rps"], "unit": "starts/s"}
        figures[f"{key}_max_starts_1s"] = {
            "value": run["max_starts_in_any_1s_window"],
            "unit": "starts",
        }
    figures.update(_sweep_figures(pool_sweep(pools=FAST_POOLS, engine=engine, repeat=1)))
    return figures, limited


def _sweep_figures(points: Sequence[Mapping[str, float]]) -> Figures:
    return {
        f"pool_sweep_pool{int(point['pool'])}_seconds": {
            "value": point["seconds"],
            "unit": "s (1/20-scale run)",
        }
        for point in points
    }


def _once_figures(
    sequential: Mapping[int, float], slow_sweep: Sequence[Mapping[str, float]]
) -> Figures:
    """The figures measured once (sleeps by construction), added to the first run."""
    figures: Figures = {
        f"planning_{n}_sequential_s": {"value": seconds, "unit": "s"}
        for n, seconds in sequential.items()
    }
    figures.update(_sweep_figures(slow_sweep))
    return figures


def _default_figures(defaults: dict[str, Any]) -> Figures:
    """Section 0's parallel batches (each already the median of its repeats, with range)."""
    figures: Figures = {}
    for row in defaults["rows"]:
        key = f"default_{row['packages']}_{row['engine']}"
        figures[f"{key}_parallel_s"] = {
            "value": row["parallel_s"],
            "unit": "s",
            "repeats": row["repeats"],
            "min": row["parallel_min_s"],
            "median": row["parallel_s"],
            "max": row["parallel_max_s"],
        }
        figures[f"{key}_speedup"] = {"value": row["speedup"], "unit": "x"}
    return figures


def _spread_fields(figure: dict[str, Any], name: str) -> dict[str, Any]:
    return {f"{name}_min": figure["min"], f"{name}_max": figure["max"]}


def _planning_block(pool: int, figures: Figures) -> list[dict[str, Any]]:
    """The ``planning`` list the guide reads: medians, with each speed-up's range."""
    block = []
    for n in PLANNING_SIZES:
        ideal = min(n, pool)

        def median(name: str, n: int = n) -> float:
            return round(float(figures[f"planning_{n}_{name}"]["value"]), 3)

        threads_speedup, asyncio_speedup = median("threads_speedup"), median("asyncio_speedup")
        target = 0.9 * ideal
        block.append(
            {
                "packages": n,
                "pool": pool,
                "sequential": median("sequential_s"),
                "threads": median("threads_s"),
                "asyncio": median("asyncio_s"),
                "ideal_speedup": ideal,
                "threads_speedup": threads_speedup,
                "asyncio_speedup": asyncio_speedup,
                **_spread_fields(figures[f"planning_{n}_threads_speedup"], "threads_speedup"),
                **_spread_fields(figures[f"planning_{n}_asyncio_speedup"], "asyncio_speedup"),
                "repeats": figures[f"planning_{n}_threads_speedup"]["repeats"],
                "meets_target": threads_speedup >= target and asyncio_speedup >= target,
            }
        )
    return block


def _limited_block(
    runs: Sequence[Sequence[dict[str, Any]]], figures: Figures
) -> list[dict[str, Any]]:
    """The ``rate_limited`` list: medians, the busiest window of any run, all runs' verdict."""
    block = []
    for index, first in enumerate(runs[0]):
        engine = first["engine"]
        same = [run[index] for run in runs]
        block.append(
            {
                **first,
                "seconds": figures[f"rate_limited_{engine}_seconds"]["value"],
                "measured_rps": figures[f"rate_limited_{engine}_measured_rps"]["value"],
                **_spread_fields(figures[f"rate_limited_{engine}_measured_rps"], "measured_rps"),
                "max_starts_in_any_1s_window": max(r["max_starts_in_any_1s_window"] for r in same),
                "never_above_limit": all(r["never_above_limit"] for r in same),
                "repeats": len(same),
            }
        )
    return block


def _sweep_points(figures: Figures) -> list[dict[str, Any]]:
    """The ``pool_sweep`` points: median seconds per pool, with the range."""
    points = []
    for pool in SWEEP_POOLS:
        figure = figures[f"pool_sweep_pool{pool}_seconds"]
        points.append(
            {
                "pool": pool,
                "seconds": figure["value"],
                **_spread_fields(figure, "seconds"),
                "repeats": figure["repeats"],
            }
        )
    return points


def _print_repeated(
    args: argparse.Namespace,
    planning: Sequence[dict[str, Any]],
    limited: Sequence[dict[str, Any]],
    points: Sequence[dict[str, Any]],
) -> int:
    """Print sections 1 to 3 (medians); return the pool-size knee."""
    print(
        f"\n1. Planning, simulated latency {args.latency} s per answer, rate limit off "
        f"(median of {args.repeats})"
    )
    print(
        f"   {'packages':>8} {'sequential':>10} {'threads':>8} {'asyncio':>8} "
        f"{'x thr':>6} {'x aio':>6} {'target':>7}  seed projection (not measured)"
    )
    for point in planning:
        projected = SEED_PROJECTION.get(point["packages"])
        seed = (
            f"{projected[0]:.0f} s -> {projected[1]:.0f} s ({projected[0] / projected[1]:.1f}x)"
            if projected
            else ""
        )
        print(
            f"   {point['packages']:>8} {point['sequential']:>9.2f}s {point['threads']:>7.2f}s "
            f"{point['asyncio']:>7.2f}s {point['threads_speedup']:>6.2f} "
            f"{point['asyncio_speedup']:>6.2f} {0.9 * point['ideal_speedup']:>6.1f}"
            f"{'' if point['meets_target'] else '!'}  {seed}"
        )

    print(
        f"\n2. Rate limit {args.rps:g} requests/s, 40 packages (a burst, then the limit; "
        f"median of {args.repeats})"
    )
    for run in limited:
        print(
            f"   {run['engine']:<8} {run['seconds']:.2f} s, after the burst "
            f"{run['measured_rps']:.2f} starts/s, busiest 1 s window "
            f"{run['max_starts_in_any_1s_window']} starts: "
            f"{'never above the limit' if run['never_above_limit'] else 'ABOVE THE LIMIT'}"
        )

    print("\n3. Pool sizes, 20 packages, provider limited as below, 0.18 s per answer")
    print(
        "   (the seed's 5 requests/s and 3.6 s per answer at 1/20 scale: 5 starts per 0.05 s;"
        f"\n   measured seconds of the scaled run, median of {args.repeats})"
    )
    for point in points:
        print(
            f"   pool {point['pool']:>3}: {point['seconds']:.2f} s "
            f"({point['seconds_min']:.2f}-{point['seconds_max']:.2f})"
        )
    best = min(point["seconds"] for point in points)
    knee = min(int(p["pool"]) for p in points if p["seconds"] <= best * 1.05)
    print(f"   smallest pool within 5% of the best time: {knee}")
    return knee


def _resolution(args: argparse.Namespace, cores: int) -> ScalingResult:
    """Section 4: measure and print dependency resolution on one thread, threads, processes."""
    workers = args.workers or cores
    source = IndexSource.default()
    scaling = measure_scaling(source, workers=workers, count=args.resolve, repeat=2)
    print(f"\n4. Dependency resolution (Depends + Recommends) of {scaling.packages} packages")
    print(f"   index: {scaling.index_source}")
    print(f"   1 thread   {scaling.serial:.2f} s")
    print(f"   {workers} threads  {scaling.threads:.2f} s  ({scaling.threads_speedup:.2f}x)")
    print(
        f"   {workers} processes {scaling.processes:.2f} s  ({scaling.processes_speedup:.2f}x; "
        f"starting them and loading the index took {scaling.process_start:.2f} s more)"
    )
    print(
        f"   {workers} processes copying full closures back: {scaling.processes_full_results:.2f} s"
    )
    print(f"   identical results on every engine: {scaling.identical}")
    return scaling


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the tables, write the JSON; exit 1 if a target fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/)")
    parser.add_argument("--latency", type=float, default=0.2, help="simulated seconds/answer")
    parser.add_argument("--rps", type=float, default=20.0, help="limit for the rate-limit run")
    parser.add_argument("--workers", type=int, default=None, help="threads/processes (cores)")
    parser.add_argument("--resolve", type=int, default=2000, help="packages to resolve")
    parser.add_argument(
        "--scale", type=float, default=10.0, help="run the default-settings case this x faster"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of sections 1 to 3 (default 3)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    facts = runtime_facts()
    settings = load_settings()
    engine, reason = choose_engine(settings, facts)
    print(facts.banner())
    started = time.perf_counter()
    load_before = load_average()
    print(
        f"load average before: {load_before} (other work on the machine skews timings)"
        f"\ndefault engine here: {engine} ({reason}); pool {settings.thread_pool_size}\n"
    )

    defaults = default_settings_runs(scale=args.scale)
    _print_defaults(defaults)

    pool = settings.thread_pool_size
    # Measured once: sleeps by construction (see the module docstring).
    sequential = {n: time_sequential(n, args.latency) for n in PLANNING_SIZES}
    slow_sweep = pool_sweep(pools=SLOW_POOLS, engine=engine, repeat=1)
    runs: list[Figures] = []
    limited_runs: list[list[dict[str, Any]]] = []
    for repeat in range(args.repeats):
        print(f"sections 1-3, run {repeat + 1} of {args.repeats}")
        figures_of_run, one_limited = _one_run(args, pool, engine, sequential)
        if repeat == 0:
            figures_of_run.update(_once_figures(sequential, slow_sweep))
        runs.append(figures_of_run)
        limited_runs.append(one_limited)
    figures = combine_runs(runs, load_before, load_average())
    planning = _planning_block(pool, figures)
    limited = _limited_block(limited_runs, figures)
    points = _sweep_points(figures)

    knee = _print_repeated(args, planning, limited, points)
    scaling = _resolution(args, facts.cores)

    targets = {
        "default_settings_speedup": all(
            row["speedup"] >= defaults["targets"][str(row["packages"])] for row in defaults["rows"]
        ),
        "speedup_ge_0.9x_ideal": all(point["meets_target"] for point in planning),
        "rate_never_above_limit": all(run["never_above_limit"] for run in limited),
        "resolution_identical": scaling.identical,
    }
    figures.update(_default_figures(defaults))
    figures["pool_sweep_knee"] = {"value": knee, "unit": "workers"}
    best_pool = min(points, key=lambda point: point["seconds"])["pool"]
    figures["pool_sweep_best_seconds"] = {
        **figures[f"pool_sweep_pool{best_pool}_seconds"],
        "pool": best_pool,
    }
    document = {
        "benchmark": "parallel_llm_bench",
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "banner": facts.banner(),
        "seconds": round(time.perf_counter() - started, 1),
        "repeats": args.repeats,
        "load_average_before_after": [load_before, load_average()],
        "runtime": facts.as_dict(),
        "default_engine": {"engine": engine, "reason": reason},
        "thread_pool_size": settings.thread_pool_size,
        "latency_s": args.latency,
        "default_settings": defaults,
        "planning": planning,
        "seed_projection_not_measured": {
            str(k): {"sequential_s": v[0], "parallel_s": v[1]} for k, v in SEED_PROJECTION.items()
        },
        "rate_limited": limited,
        "pool_sweep": {
            "latency_s": 0.18,
            "limit_rps": 100.0,
            "scale": 20,
            "window_s": 0.05,
            "points": points,
            "knee": knee,
        },
        "resolution": {**scaling.as_dict(), "timing": "best of 2 timed runs after an untimed one"},
        "figures": figures,
        "targets": targets,
    }
    output = args.output or ROOT / "benchmarks" / "results" / f"parallel_llm_{_tag()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\ntargets: {targets}\nwrote {output} in {document['seconds']} s")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
