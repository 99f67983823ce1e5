"""The performance page's tables: spread and load shown, projections kept apart."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def perf() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "cortex_perf_ext", ROOT / "docs" / "_ext" / "cortex_perf.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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
