"""Tables and plots for the performance page, drawn from the benchmark JSON at build time.

Two sources of runs, each a JSON file written by ``benchmarks/*.py``:

* ``_build/benchmarks/`` -- measured by ``make guide`` a minute before this build;
* ``benchmarks/results/`` -- committed runs, from other interpreters and machines.

A fresh run replaces a committed one from the same interpreter tag (``cp313``, ``cp314t``).
When the guide is built, ``builder-inited`` writes Markdown tables and PNG plots into
``docs/_generated/`` (ignored by git); ``docs/performance.md`` includes them. Nothing is
typed in: every number on the page comes from these files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[2]
FRESH = ROOT / "_build" / "benchmarks"
COMMITTED = ROOT / "benchmarks" / "results"
OUT = ROOT / "docs" / "_generated"


@dataclass(frozen=True)
class Run:
    """One benchmark result file."""

    kind: str  # "parallel_llm" or "cache"
    tag: str
    fresh: bool
    data: dict[str, Any]

    @property
    def label(self) -> str:
        runtime = self.data["runtime"]
        build = "free-threaded" if runtime["free_threaded_build"] else "GIL build"
        return f"{runtime['python_version']} {build}"

    @property
    def source(self) -> str:
        return "this build" if self.fresh else "committed run"


def _tag(data: dict[str, Any]) -> str:
    runtime = data["runtime"]
    major, minor = runtime["python_version"].split(".")[:2]
    return f"cp{major}{minor}{'t' if runtime['free_threaded_build'] else ''}"


def _kind(data: dict[str, Any]) -> str | None:
    if "planning" in data:
        return "parallel_llm"
    if "figures" in data and "exact_hits_per_s_100_threads" in data["figures"]:
        return "cache"
    return None


def load_runs() -> list[Run]:
    """Every run, fresh ones replacing committed ones of the same kind and tag."""
    runs: dict[tuple[str, str], Run] = {}
    for fresh, folder in ((False, COMMITTED), (True, FRESH)):
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            kind = _kind(data)
            if kind is None:
                continue
            run = Run(kind, _tag(data), fresh, data)
            runs[(kind, run.tag)] = run
    return sorted(runs.values(), key=lambda r: (r.kind, r.tag))


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _load(data: dict[str, Any]) -> str:
    load = data.get("load_average_before_after")
    if not load or None in load:
        return "not recorded"
    return f"{load[0]:g} → {load[1]:g}"


def _runs_table(runs: list[Run]) -> str:
    rows = [
        [
            r.kind.replace("_", " "),
            r.data["banner"],
            r.data["measured_at"].replace("T", " ").replace("+00:00", " UTC"),
            r.source,
            str(r.data.get("repeats", 1)),
            _load(r.data),
        ]
        for r in runs
    ]
    headers = ["Benchmark", "Interpreter", "Measured", "Source", "Runs", "Load"]
    targets = "".join(
        f"- {r.kind.replace('_', ' ')}, {r.label}: "
        + ", ".join(
            f"`{name}` {'met' if met else '**missed**'}"
            for name, met in r.data.get("targets", {}).items()
        )
        + "\n"
        for r in runs
        if r.data.get("targets")
    )
    return (
        _table(headers, rows)
        + "\nLoad is the machine's one-minute load average before and after the run "
        "(`os.getloadavg`); with more runnable threads than cores, every figure is slower "
        "than on an idle machine. Targets:\n\n" + targets
    )


def _planning_table(run: Run) -> str:
    rows = [
        [
            str(point["packages"]),
            f"{point['sequential']:.2f} s",
            f"{point['threads']:.2f} s ({point['threads_speedup']:.2f}x)",
            f"{point['asyncio']:.2f} s ({point['asyncio_speedup']:.2f}x)",
            f"{point['ideal_speedup']}x",
        ]
        for point in run.data["planning"]
    ]
    latency = run.data.get("latency_s")
    note = (
        f"One run of each engine, simulated latency {latency:g} s per request, rate limit off; "
        f"load {_load(run.data)}.\n\n"
        if latency is not None
        else ""
    )
    headers = ["Packages", "Sequential", "Threads", "asyncio", "Ideal"]
    return note + _table(headers, rows)


def _projection_table(run: Run) -> str:
    """The seed's projection, on its own: never measured, and not on the measured axes."""
    projection = run.data.get("seed_projection_not_measured", {})
    if not projection:
        return ""
    rows = [
        [
            packages,
            f"{seed['sequential_s']:g} s",
            f"{seed['parallel_s']:g} s",
            f"{seed['sequential_s'] / seed['parallel_s']:.1f}x",
        ]
        for packages, seed in sorted(projection.items(), key=lambda item: int(item[0]))
    ]
    return _table(["Packages", "Sequential (projected)", "Parallel (projected)", "Ratio"], rows)


def _default_settings_table(run: Run) -> str:
    """Default settings, through HTTP: one row per batch size and engine."""
    block = run.data.get("default_settings")
    if not block:
        return "*(this run predates the default-settings measurement)*\n"
    rows = [
        [
            str(row["packages"]),
            row["engine"],
            f"{row['sequential_s']:.2f} s",
            f"{row['parallel_s']:.2f} s ({row['parallel_min_s']:.2f}-{row['parallel_max_s']:.2f})",
            f"{row['speedup']:.2f}x",
            f"{block['targets'][str(row['packages'])]:g}x",
            str(row["peak_in_flight"]),
        ]
        for row in block["rows"]
    ]
    headers = [
        "Packages",
        "Engine",
        "Sequential",
        f"Parallel (median of {block['rows'][0]['repeats']}, range)",
        "Speed-up",
        "Target",
        "Peak in flight",
    ]
    return f"{block['label']}; pool {block['pool']}.\n\n{_table(headers, rows)}"


def _resolution_table(runs: list[Run]) -> str:
    rows = []
    for run in runs:
        res = run.data["resolution"]
        threads_note = (
            "" if run.data["runtime"]["free_threaded_build"] else " (GIL: no parallelism)"
        )
        rows.append(
            [
                run.label,
                str(res["packages"]),
                str(res["workers"]),
                f"{res['serial']:.3f} s",
                f"{res['threads']:.3f} s ({res['threads_speedup']:.2f}x){threads_note}",
                f"{res['processes']:.3f} s ({res['processes_speedup']:.2f}x)",
            ]
        )
    headers = ["Build", "Packages", "Workers", "One thread", "Threads", "Processes"]
    return _table(headers, rows)


_CACHE_FIGURES = (
    ("exact_hits_per_s_100_threads", "Exact hits from 100 threads"),
    ("per_call_hits_per_s_100_threads", "Same, connection per call"),
    ("exact_hit_speedup_vs_per_call", "Exact hits vs connection per call"),
    ("sql_hits_per_s_100_threads", "Hits through SQL (pool), 100 threads"),
    ("similarity_per_s_1_thread", "Similarity look-ups, 1 thread"),
    ("similarity_per_s_8_threads", "Similarity look-ups, 8 threads"),
    ("similarity_per_s_2_processes", "Similarity look-ups, 2 processes"),
    ("store_default_overhead", "One thread: cache vs bare sqlite3 query"),
    ("store_sql_overhead", "One thread: cache through SQL vs bare sqlite3"),
    ("rss_peak_mib", "Resident memory, all databases open, 100 threads"),
)


def _number(value: float | int) -> str:
    return (
        f"{value:,.2f}" if isinstance(value, float) and not value.is_integer() else f"{value:,.0f}"
    )


def _figure_text(figure: dict[str, Any]) -> str:
    """``762,662 lookups/s (min 701,000, max 790,100; 3 runs)`` or ``... (one run)``."""
    shown = f"{_number(figure['value'])} {figure['unit']}"
    if figure.get("repeats", 1) > 1:
        return (
            f"{shown} (median; min {_number(figure['min'])}, max {_number(figure['max'])}; "
            f"{figure['repeats']} runs)"
        )
    return f"{shown} (one run)"


def _cache_table(runs: list[Run]) -> str:
    headers = ["Figure", *[r.label for r in runs]]
    rows = []
    for key, title in _CACHE_FIGURES:
        cells = []
        for run in runs:
            figure = run.data["figures"].get(key)
            if figure is None:
                cells.append("")
                continue
            cells.append(_figure_text(figure))
        rows.append([title, *cells])
    return _table(headers, rows)


def _plot_planning(runs: list[Run], target: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only the docs build needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for run in runs:
        points = run.data["planning"]
        packages = [p["packages"] for p in points]
        ax.plot(
            packages, [p["threads_speedup"] for p in points], "o-", label=f"threads, {run.label}"
        )
        ax.plot(
            packages, [p["asyncio_speedup"] for p in points], "s--", label=f"asyncio, {run.label}"
        )
    if runs:
        points = runs[0].data["planning"]
        ax.plot(
            [p["packages"] for p in points],
            [p["ideal_speedup"] for p in points],
            ":",
            color="grey",
            label="ideal: min(packages, pool size)",
        )
    ax.set_xlabel("packages planned at once")
    ax.set_ylabel("speed-up over sequential")
    latency = runs[0].data.get("latency_s") if runs else None
    ax.set_title(
        "Parallel LLM planning, measured"
        + (f" (simulated latency {latency:g} s, rate limit off)" if latency is not None else ""),
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)


def _plot_resolution(runs: list[Run], target: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    width = 0.35
    for index, run in enumerate(runs):
        res = run.data["resolution"]
        xs = [0 + index * width, 1 + index * width, 2 + index * width]
        ys = [1.0, res["threads_speedup"], res["processes_speedup"]]
        bars = ax.bar(xs, ys, width, label=run.label)
        ax.bar_label(bars, fmt="%.2fx", fontsize=8)
    ax.axhline(
        runs[0].data["resolution"]["workers"] if runs else 1, color="grey", ls=":", label="cores"
    )
    ax.set_xticks([0.15, 1.15, 2.15], ["one thread", "threads", "processes"])
    ax.set_ylabel("speed-up over one thread")
    ax.set_title("Dependency resolution (CPU-bound, pure Python)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)


def _plot_pool_sweep(runs: list[Run], target: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    for run in runs:
        sweep = run.data["pool_sweep"]
        xs = [p["pool"] for p in sweep["points"]]
        ax.plot(xs, [p["seconds"] for p in sweep["points"]], "o-", label=run.label)
    default = runs[0].data.get("thread_pool_size") if runs else None
    if default:
        ax.axvline(
            default, color="grey", ls=":", label=f"default CORTEX_THREAD_POOL_SIZE={default}"
        )
    scale = runs[0].data["pool_sweep"].get("scale") if runs else None
    ax.set_xlabel("pool size (threads or concurrent tasks)")
    ax.set_ylabel("seconds for the scaled batch" if scale else "seconds for the batch")
    title = "Pool-size sweep, rate-limited provider"
    if scale:
        title += f" (run at 1/{scale} scale: measured seconds, not the seed's)"
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)


def generate(_app: Sphinx | None = None) -> None:
    """Write every table and plot into ``docs/_generated/``."""
    OUT.mkdir(parents=True, exist_ok=True)
    runs = load_runs()
    llm = [r for r in runs if r.kind == "parallel_llm"]
    cache = [r for r in runs if r.kind == "cache"]
    free_threaded = any(r.data["runtime"]["free_threaded_build"] for r in runs)
    (OUT / "perf_runs.md").write_text(_runs_table(runs), encoding="utf-8")
    planning = "".join(f"**{r.label}** ({r.source})\n\n{_planning_table(r)}\n" for r in llm)
    (OUT / "perf_planning.md").write_text(planning, encoding="utf-8")
    defaults = "".join(f"**{r.label}** ({r.source})\n\n{_default_settings_table(r)}\n" for r in llm)
    (OUT / "perf_default_settings.md").write_text(defaults, encoding="utf-8")
    (OUT / "perf_resolution.md").write_text(_resolution_table(llm), encoding="utf-8")
    (OUT / "perf_cache.md").write_text(_cache_table(cache), encoding="utf-8")

    # The seed's projection is written apart: never measured, never on the measured axes.
    projection = _projection_table(llm[0]) if llm else ""
    (OUT / "perf_projection.md").write_text(projection, encoding="utf-8")
    note = (
        ""
        if free_threaded
        else (
            "```{note}\nNo free-threaded interpreter produced any of these runs: the "
            "machine that built this guide has none. Every thread figure here is a GIL-build "
            "figure and says nothing about what threads do on a free-threaded build; "
            "{doc}`free-threaded-build` gives CPython's published figures, not measured here. "
            "Run `make guide` where `python3.14t` exists (or the CI workflow on a fork) to "
            "add that build's runs to these tables.\n```\n"
        )
    )
    (OUT / "perf_ft_note.md").write_text(note, encoding="utf-8")
    _plot_planning(llm, OUT / "perf_planning.png")
    _plot_resolution(llm, OUT / "perf_resolution.png")
    _plot_pool_sweep(llm, OUT / "perf_pool_sweep.png")


def bench_figure(kind: str, key: str) -> str:
    """One benchmark figure as a page shows it, from the same run as the performance page.

    The fresh run of this build when there is one, else the committed run of the building
    interpreter's tag, else the first committed run: the performance page and any other
    page that cites the figure show one value.
    """
    runs = [r for r in load_runs() if r.kind == kind]
    if not runs:
        raise KeyError(f"no {kind} benchmark run")
    fresh = [r for r in runs if r.fresh]
    run = fresh[0] if fresh else runs[0]
    figure = run.data["figures"][key]
    return f"{_figure_text(figure)}, {run.data['banner']}, {run.source}"


def _bench_role(  # noqa: PLR0917 - docutils calls roles this way
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Any,
    options: dict[str, Any] | None = None,
    content: list[str] | None = None,
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """``{bench}`cache/exact_hits_per_s_100_threads```: a figure from the benchmark JSON."""
    kind, _, key = text.partition("/")
    try:
        shown = bench_figure(kind.strip(), key.strip())
    except KeyError as exc:
        message = inliner.reporter.error(f"bench: no figure {text!r} ({exc})", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    return [nodes.Text(shown)], []


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    app.add_role("bench", _bench_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
