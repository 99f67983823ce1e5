"""Tables for "Finding races before your users do", drawn from the preemption benchmark JSON.

``benchmarks/preempt_bench.py`` writes one file per run: ``_build/benchmarks/preempt.json``
when ``make guide`` ran it a minute before this build, else the committed
``benchmarks/results/preempt_<tag>.json`` files (the newest interpreter's). At
``builder-inited`` the tables are written into ``docs/_generated/races_*.md`` (ignored by git)
and the page includes them. Nothing on the page is typed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[2]
FRESH = ROOT / "_build" / "benchmarks" / "preempt.json"
COMMITTED = ROOT / "benchmarks" / "results"
OUT = ROOT / "docs" / "_generated"
MISSING = "*(not measured yet: run `python benchmarks/preempt_bench.py`)*\n"


def load_run() -> dict[str, Any] | None:
    """The fresh run if there is one, else the committed run of the newest interpreter."""
    if FRESH.is_file():
        return dict(json.loads(FRESH.read_text(encoding="utf-8")))
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in COMMITTED.glob("preempt_*.json")]
    if not runs:
        return None

    def version(run: dict[str, Any]) -> tuple[int, ...]:
        return tuple(int(x) for x in run["runtime"]["python_version"].split(".")[:2])

    return dict(max(runs, key=version))


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _runs(values: list[int | None], limit: int) -> str:
    if len(values) > 1 and all(v == 1 for v in values):
        return f"1 (first) at all {len(values)} seeds"
    return ", ".join("1 (first)" if v == 1 else str(v) if v else f"none in {limit}" for v in values)


def _seeds(run: dict[str, Any]) -> str:
    seeds = run["twins"][0].get("seeds") if run["twins"] else None
    if not seeds:
        return "per seed"
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seeds " + ", ".join(str(s) for s in seeds)


def interval_text(run: dict[str, Any]) -> str:
    data = run["switch_interval"]
    total = data["threads"] * data["adds_per_thread"]
    rows = [
        [
            f"{data[key]['interval_s']:g} s",
            f"{data['threads']} x {data['adds_per_thread']:,}",
            ", ".join(f"{lost:,}" for lost in data[key]["lost_per_run"]),
        ]
        for key in ("1us", "default")
    ]
    return _table(["Switch interval", "Threads x adds", f"Lost of {total:,}, per run"], rows)


def forced_text(run: dict[str, Any]) -> str:
    data = run["forced_counter"]
    total = data["threads"] * data["adds_per_thread"]
    rows = [
        [
            str(r["seed"]),
            f"{r['lost']:,} of {total:,}",
            f"{r['switches']:,}",
            f"{r['seconds']:.2f} s",
        ]
        for r in data["runs"]
    ]
    head = (
        f"Probability {data['probability']:g}, {data['threads']} threads x "
        f"{data['adds_per_thread']:,} adds, backend `{data['backend']}`:\n\n"
    )
    return head + _table(["Seed", "Lost", "Forced switches", "Time"], rows)


def modules_text(run: dict[str, Any]) -> str:
    rows = [
        [
            f"`{r['module']}`",
            f"{r['plain_s'] * 1000:,.1f} ms",
            f"{r['slowdown_module']:,}x",
            f"{r['slowdown_cortex']:,}x",
        ]
        for r in run["modules"]
    ]
    if not rows:
        return MISSING
    return _table(["Workload of", "Plain", "Preempting it", "Preempting all of cortex"], rows)


def twins_text(run: dict[str, Any]) -> str:
    rows = []
    for r in run["twins"]:
        limit = r["max_runs"]
        explored = r.get("explored_schedules_to_failure")
        small = r.get("small_model_runs_to_first_failure")
        rows.append(
            [
                f"`{r['twin']}`",
                _runs(r["plain_runs_to_first_failure"], limit),
                _runs(r["interval_1us_runs_to_first_failure"], limit),
                _runs(r["runs_to_first_failure"], limit),
                "" if small is None else _runs(small, limit),
                "" if explored is None else _runs([explored], limit),
                f"{r['fixed_slowdown']:,}x" if r.get("fixed_slowdown") is not None else "",
            ]
        )
    if not rows:
        return MISSING
    size = run.get("stress_model")
    head = (
        f"Stress size: {size['threads']} threads x {size['operations_per_thread']} operations; "
        "small: 2 threads x 1 operation.\n\n"
        if size
        else ""
    )
    headers = [
        "Unsafe twin",
        "Plain threads",
        "1 us switch interval",
        f"Forced, p={run['probability']:g} ({_seeds(run)})",
        f"Small model: forced ({_seeds(run)})",
        "Small model: explored (schedules)",
        "Forced: slowdown of its fix",
    ]
    return head + _table(headers, rows)


def sweep_text(run: dict[str, Any]) -> str:
    twins = run["twins"]
    if not twins or "runs_to_first_failure_by_probability" not in twins[0]:
        return MISSING
    probabilities = list(twins[0]["runs_to_first_failure_by_probability"])
    rows = [
        [f"`{r['twin']}`"]
        + [
            _runs(r["runs_to_first_failure_by_probability"][p], r["max_runs"])
            for p in probabilities
        ]
        for r in twins
    ]
    return _table([f"Unsafe twin ({_seeds(run)})", *[f"p={p}" for p in probabilities]], rows)


def primitive_text(run: dict[str, Any]) -> str:
    figures = run["figures"]
    return (
        f"One `time.sleep(0)` took {figures['sleep0_us']['value']:g} us and one "
        f"`os.sched_yield()` {figures['sched_yield_us']['value']:g} us.\n"
    )


def run_text(run: dict[str, Any]) -> str:
    when = run["measured_at"].replace("T", " ").replace("+00:00", " UTC")
    targets = "; ".join(
        f"{name}: {'met' if met else 'missed'}" for name, met in run["targets"].items()
    )
    return (
        f"Measured by `benchmarks/preempt_bench.py` on **{run['banner']}**, {when}, in "
        f"{run['seconds']:g} s. Targets: {targets}.\n"
    )


def generate(_app: Sphinx | None = None) -> None:
    """Write the page's tables into ``docs/_generated/``."""
    OUT.mkdir(parents=True, exist_ok=True)
    run = load_run()
    parts = {
        "races_run.md": run_text,
        "races_interval.md": interval_text,
        "races_forced.md": forced_text,
        "races_modules.md": modules_text,
        "races_twins.md": twins_text,
        "races_sweep.md": sweep_text,
        "races_primitive.md": primitive_text,
    }
    for name, render in parts.items():
        text = MISSING if run is None else render(run)
        (OUT / name).write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
