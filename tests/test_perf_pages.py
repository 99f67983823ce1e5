"""The performance page's tables: spread and load shown, projections kept apart."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.support.modules import load_module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def perf() -> ModuleType:
    return load_module(ROOT / "docs" / "_ext" / "cortex_perf.py", "cortex_perf_ext")


def _committed(perf: ModuleType, kind: str) -> object:
    runs = [r for r in perf.load_runs() if r.kind == kind and not r.fresh]
    if not runs:
        runs = [r for r in perf.load_runs() if r.kind == kind]
    assert runs, f"no {kind} run"
    return runs[0]


def test_figure_text_shows_the_spread_or_says_one_run(perf: ModuleType) -> None:
    repeated = {"value": 200, "unit": "/s", "repeats": 3, "min": 100.0, "max": 300.0}
    assert perf._figure_text(repeated) == "200 /s (median; min 100, max 300; 3 runs)"
    assert perf._figure_text({"value": 0.04, "unit": "x"}) == "0.04 x (one run)"


def test_runs_table_names_repeats_and_load(perf: ModuleType) -> None:
    text = perf._runs_table([_committed(perf, "cache")])
    assert "| Runs | Load |" in text
    assert "→" in text or "not recorded" in text


def test_projection_is_not_in_the_measured_table(perf: ModuleType) -> None:
    run = _committed(perf, "parallel_llm")
    measured = perf._planning_table(run)
    assert "projection" not in measured.lower()
    projection = perf._projection_table(run)
    assert "projected" in projection


def test_bench_role_takes_the_figure_from_the_benchmark_json(perf: ModuleType) -> None:
    shown = perf.bench_figure("cache", "exact_hits_per_s_100_threads")
    assert "lookups/s" in shown
    assert "GIL build" in shown or "free-threaded" in shown
    with pytest.raises(KeyError):
        perf.bench_figure("cache", "no_such_figure")


def test_parallel_llm_figures_have_repeats_and_the_scaled_sweep_is_labelled(
    perf: ModuleType,
) -> None:
    shown = perf.bench_figure("parallel_llm", "pool_sweep_pool10_seconds")
    assert "1/20-scale run" in shown
    assert "median; min" in shown
    point = {
        "packages": 5,
        "sequential": 1.0,
        "threads": 0.2,
        "asyncio": 0.25,
        "threads_speedup": 5.0,
        "asyncio_speedup": 4.0,
        "threads_speedup_min": 4.5,
        "threads_speedup_max": 5.1,
        "asyncio_speedup_min": 3.9,
        "asyncio_speedup_max": 4.2,
        "ideal_speedup": 5,
        "repeats": 3,
    }
    assert perf._speedup(point, "threads") == "5.00x [4.50-5.10]"
    assert perf._speedup({**point, "repeats": 1}, "asyncio") == "4.00x"
