"""Measuring helpers for notebooks and benchmarks: timings, spread, and where results go.

Every figure is printed next to :meth:`cortex.runtime.RuntimeFacts.banner`. When the guide
is built, ``CORTEX_RESULTS_DIR`` names a folder and :func:`record` writes each figure there
as JSON, so the build can print one table of what it measured.

A figure measured more than once carries its :class:`Spread`: the repeats, their minimum,
median and maximum, and the machine's load average (:func:`os.getloadavg`, one minute)
before and after, so a page can say how steady the number was and how busy the machine
was. The runtime facts beside every recorded figure give the cores. Benchmarks that repeat
a whole run combine the runs with :func:`combine_runs`.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cortex.runtime import runtime_facts
from cortex.utils.atomic_file import atomic_write_text

__all__ = [
    "RESULTS_DIR_ENV",
    "Spread",
    "combine_runs",
    "describe_spread",
    "load_average",
    "load_results",
    "ns_per_call",
    "ns_per_call_spread",
    "publish",
    "record",
    "repeat",
]

RESULTS_DIR_ENV = "CORTEX_RESULTS_DIR"


def load_average() -> float | None:
    """The machine's one-minute load average, or ``None`` where the OS has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        return None


@dataclass(frozen=True)
class Spread:
    """Repeated measurements of one figure, and how busy the machine was meanwhile."""

    samples: tuple[float, ...]
    """Every measurement, in the order taken."""
    load_before: float | None = None
    """One-minute load average before the first measurement."""
    load_after: float | None = None
    """One-minute load average after the last measurement."""

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("a spread needs at least one sample")

    @property
    def repeats(self) -> int:
        """How many measurements."""
        return len(self.samples)

    @property
    def min(self) -> float:
        """The smallest measurement."""
        return min(self.samples)

    @property
    def median(self) -> float:
        """The median measurement, which is the figure a page shows."""
        return float(statistics.median(self.samples))

    @property
    def max(self) -> float:
        """The largest measurement."""
        return max(self.samples)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``repeats``, ``min``, ``median``, ``max``, ``load_before_after``."""
        return {
            "repeats": self.repeats,
            "min": self.min,
            "median": self.median,
            "max": self.max,
            "load_before_after": [self.load_before, self.load_after],
        }


def repeat(measure: Callable[[], float], repeats: int = 5) -> Spread:
    """Call ``measure`` ``repeats`` times; the samples and the load around them."""
    before = load_average()
    samples = tuple(float(measure()) for _ in range(repeats))
    return Spread(samples, before, load_average())


def ns_per_call_spread(
    fn: Callable[[], object], *, number: int = 200_000, repeat_count: int = 5
) -> Spread:
    """Nanoseconds per call of ``fn`` in each of ``repeat_count`` runs of ``number`` calls."""

    def one_run() -> float:
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        return (time.perf_counter_ns() - start) / number

    return repeat(one_run, repeat_count)


def describe_spread(spread: Spread, fmt: str = ",.3g", unit: str = "") -> str:
    """``"median 1.2 ns (min 1.1, max 1.4; 5 repeats; load 3.2 -> 3.5)"``, for pages."""
    suffix = f" {unit}" if unit else ""
    if spread.repeats == 1:
        text = f"{spread.median:{fmt}}{suffix} (one run"
    else:
        text = (
            f"median {spread.median:{fmt}}{suffix} (min {spread.min:{fmt}}, "
            f"max {spread.max:{fmt}}; {spread.repeats} repeats"
        )
    if spread.load_before is not None and spread.load_after is not None:
        text += f"; load {spread.load_before:g} -> {spread.load_after:g}"
    return text + ")"


def combine_runs(
    runs: Sequence[Mapping[str, Mapping[str, Any]]],
    load_before: float | None = None,
    load_after: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Merge whole benchmark runs (``{key: {"value": v, "unit": u}}`` each) into one.

    Each numeric figure becomes its median over the runs, with the :class:`Spread`'s fields
    beside it (``repeats``, ``min``, ``median``, ``max``, ``load_before_after``); a figure
    that is not a number keeps the first run's value.
    """
    combined: dict[str, dict[str, Any]] = {}
    for key, first in runs[0].items():
        values = [run[key]["value"] for run in runs if key in run]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            combined[key] = dict(first)
            continue
        spread = Spread(tuple(float(v) for v in values), load_before, load_after)
        median: float | int = spread.median
        if all(isinstance(v, int) for v in values) and float(median).is_integer():
            median = int(median)
        combined[key] = {**first, "value": median, **spread.as_dict()}
    return combined


def ns_per_call(fn: Callable[[], object], *, number: int = 200_000, repeat: int = 5) -> float:
    """Nanoseconds per call of ``fn``: the best of ``repeat`` runs of ``number`` calls.

    The minimum is the figure least disturbed by other work on the machine.
    """
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / number)
    return best


def record(
    source: str,
    key: str,
    value: float | int | str,
    unit: str = "",
    *,
    spread: Spread | None = None,
) -> None:
    """Store one measured figure for the build's summary (no-op outside a build).

    Args:
        source: where it was measured, e.g. ``"01-singletons"``.
        key: what it is, e.g. ``"fast_path_ratio"``.
        value: the figure.
        unit: e.g. ``"ns/call"`` or ``"x"``.
        spread: the repeated measurements behind ``value``, if any; without it the
            machine's load average at the time of recording is stored.
    """
    directory = os.environ.get(RESULTS_DIR_ENV)
    if not directory:
        return
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source}.json"
    document: dict[str, Any] = (
        json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"figures": {}}
    )
    document["runtime"] = runtime_facts().as_dict()
    document["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    figure: dict[str, Any] = {"value": value, "unit": unit}
    if spread is not None:
        figure.update(spread.as_dict())
    else:
        figure["load_at_record"] = load_average()
    document["figures"][key] = figure
    atomic_write_text(path, json.dumps(document, indent=2, sort_keys=True))


def load_results(directory: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Every recorded source in ``directory``, keyed by source name."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(Path(directory).glob("*.json"))
    }


def publish(
    source: str,
    key: str,
    value: float | int | str,
    unit: str = "",
    *,
    spread: Spread | None = None,
) -> None:
    """Record a figure (see :func:`record`) and glue it for the guide's ``{glue}`` roles.

    With a ``spread``, ``<key>_spread`` is glued too: a text such as ``median 52.1 ns (min
    50.3, max 60.2; 5 repeats; load 3.2 -> 3.5)`` for pages to show beside the figure.
    Call it from a notebook cell marked ``NBVAL_IGNORE_OUTPUT``: the glue is a hidden
    output that changes with every measurement.
    """
    record(source, key, value, unit, spread=spread)
    from myst_nb import glue  # noqa: PLC0415 - only notebooks need myst-nb

    glue(key, value, display=False)
    if spread is not None:
        glue(f"{key}_spread", describe_spread(spread, unit=unit), display=False)
