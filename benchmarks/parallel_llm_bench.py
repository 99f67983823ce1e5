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

The whole run takes well under a minute on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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
    speedup_table,
)
from cortex.demos.resolver_bench import measure_scaling  # noqa: E402
from cortex.dependency_resolver import IndexSource  # noqa: E402
from cortex.parallel_llm import choose_engine  # noqa: E402
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
    args = parser.parse_args(argv)

    facts = runtime_facts()
    settings = load_settings()
    engine, reason = choose_engine(settings, facts)
    print(facts.banner())
    load_before = os.getloadavg()
    print(
        f"load average before: {load_before[0]:.2f} (other work on the machine skews timings)"
        f"\ndefault engine here: {engine} ({reason}); pool {settings.thread_pool_size}\n"
    )

    defaults = default_settings_runs(scale=args.scale)
    _print_defaults(defaults)

    rows = speedup_table(latency=args.latency, pool=settings.thread_pool_size)
    print(f"1. Planning, simulated latency {args.latency} s per answer, rate limit off")
    print(
        f"   {'packages':>8} {'sequential':>10} {'threads':>8} {'asyncio':>8} "
        f"{'x thr':>6} {'x aio':>6} {'target':>7}  seed projection (not measured)"
    )
    for row in rows:
        projected = SEED_PROJECTION.get(row.packages)
        seed = (
            f"{projected[0]:.0f} s -> {projected[1]:.0f} s ({projected[0] / projected[1]:.1f}x)"
            if projected
            else ""
        )
        print(
            f"   {row.packages:>8} {row.sequential:>9.2f}s {row.threads:>7.2f}s "
            f"{row.asyncio:>7.2f}s {row.threads_speedup:>6.2f} {row.asyncio_speedup:>6.2f} "
            f"{0.9 * row.ideal:>6.1f}{'' if row.meets_target else '!'}  {seed}"
        )

    limited = [
        rate_limited_run(args.rps, latency=args.latency, engine=e) for e in ("threads", "asyncio")
    ]
    print(f"\n2. Rate limit {args.rps:g} requests/s, 40 packages (a burst, then the limit)")
    for run in limited:
        print(
            f"   {run['engine']:<8} {run['seconds']:.2f} s, after the burst "
            f"{run['measured_rps']:.2f} starts/s, busiest 1 s window "
            f"{run['max_starts_in_any_1s_window']} starts: "
            f"{'never above the limit' if run['never_above_limit'] else 'ABOVE THE LIMIT'}"
        )

    sweep = pool_sweep(engine=engine)
    print("\n3. Pool sizes, 20 packages, provider limited as below, 0.18 s per answer")
    print(
        "   (the seed's 5 requests/s and 3.6 s per answer at 1/20 scale: 5 starts per 0.05 s,"
        "\n   x20 for seed seconds)"
    )
    for point in sweep:
        seconds = point["seconds"]
        print(f"   pool {point['pool']:>3}: {seconds:.2f} s  (~{seconds * 20:.1f} s at seed scale)")
    best = min(point["seconds"] for point in sweep)
    knee = min(p["pool"] for p in sweep if p["seconds"] <= best * 1.05)
    print(f"   smallest pool within 5% of the best time: {knee}")

    workers = args.workers or facts.cores
    source = IndexSource.default()
    scaling = measure_scaling(source, workers=workers, count=args.resolve, repeat=3)
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

    targets = {
        "default_settings_speedup": all(
            row["speedup"] >= defaults["targets"][str(row["packages"])] for row in defaults["rows"]
        ),
        "speedup_ge_0.9x_ideal": all(row.meets_target for row in rows),
        "rate_never_above_limit": all(run["never_above_limit"] for run in limited),
        "resolution_identical": scaling.identical,
    }
    document = {
        "benchmark": "parallel_llm_bench",
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "banner": facts.banner(),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "runtime": facts.as_dict(),
        "default_engine": {"engine": engine, "reason": reason},
        "thread_pool_size": settings.thread_pool_size,
        "latency_s": args.latency,
        "default_settings": defaults,
        "planning": [row.as_dict() for row in rows],
        "seed_projection_not_measured": {
            str(k): {"sequential_s": v[0], "parallel_s": v[1]} for k, v in SEED_PROJECTION.items()
        },
        "rate_limited": limited,
        "pool_sweep": {
            "latency_s": 0.18,
            "limit_rps": 100.0,
            "scale": 20,
            "window_s": 0.05,
            "points": sweep,
            "knee": knee,
        },
        "resolution": scaling.as_dict(),
        "targets": targets,
    }
    output = args.output or ROOT / "benchmarks" / "results" / f"parallel_llm_{_tag()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\ntargets: {targets}\nwrote {output}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
