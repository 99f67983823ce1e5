"""Figures carry their spread and the machine's load (cortex.demos.measure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cortex.demos.measure import (
    Spread,
    combine_runs,
    describe_spread,
    load_average,
    ns_per_call_spread,
    record,
    repeat,
)


def test_spread_statistics() -> None:
    spread = Spread((3.0, 1.0, 2.0, 10.0, 2.5), load_before=1.5, load_after=2.0)
    assert (spread.repeats, spread.min, spread.median, spread.max) == (5, 1.0, 2.5, 10.0)
    assert spread.as_dict() == {
        "repeats": 5,
        "min": 1.0,
        "median": 2.5,
        "max": 10.0,
        "load_before_after": [1.5, 2.0],
    }
    with pytest.raises(ValueError, match="at least one sample"):
        Spread(())


def test_describe_spread() -> None:
    text = describe_spread(Spread((1.0, 2.0, 4.0), 0.5, 0.75), fmt=".1f", unit="ns")
    assert text == "median 2.0 ns (min 1.0, max 4.0; 3 repeats; load 0.5 -> 0.75)"
    assert describe_spread(Spread((7.0,)), fmt=".0f") == "7 (one run)"


def test_repeat_records_load_and_every_sample() -> None:
    values = iter([5.0, 4.0, 6.0])
    spread = repeat(lambda: next(values), 3)
    assert spread.samples == (5.0, 4.0, 6.0)
    if load_average() is not None:
        assert spread.load_before is not None
        assert spread.load_after is not None
    timed = ns_per_call_spread(lambda: None, number=100, repeat_count=3)
    assert timed.repeats == 3
    assert timed.min > 0


def test_combine_runs_takes_the_median_and_keeps_the_spread() -> None:
    runs: list[dict[str, dict[str, object]]] = [
        {"rate": {"value": 100, "unit": "/s"}, "label": {"value": "x", "unit": ""}},
        {"rate": {"value": 300, "unit": "/s"}, "label": {"value": "y", "unit": ""}},
        {"rate": {"value": 200, "unit": "/s"}, "label": {"value": "z", "unit": ""}},
    ]
    combined = combine_runs(runs, 1.0, 2.0)
    assert combined["rate"] == {
        "value": 200,
        "unit": "/s",
        "repeats": 3,
        "min": 100.0,
        "median": 200.0,
        "max": 300.0,
        "load_before_after": [1.0, 2.0],
    }
    assert combined["label"] == {"value": "x", "unit": ""}


@pytest.mark.thread_unsafe(reason="sets CORTEX_RESULTS_DIR for the process")
def test_record_writes_spread_or_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_RESULTS_DIR", str(tmp_path))
    record("nb", "with_spread", 2.0, "ns", spread=Spread((1.0, 2.0, 3.0)))
    record("nb", "single", 5, "x")
    document = json.loads((tmp_path / "nb.json").read_text(encoding="utf-8"))
    assert document["figures"]["with_spread"]["repeats"] == 3
    assert document["figures"]["with_spread"]["max"] == 3.0
    assert "load_at_record" in document["figures"]["single"]
    assert document["runtime"]["cores"] >= 1
