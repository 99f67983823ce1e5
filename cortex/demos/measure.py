"""Measuring helpers for notebooks and benchmarks: timings, and where results are recorded.

Every figure is printed next to :meth:`cortex.runtime.RuntimeFacts.banner`. When the guide
is built, ``CORTEX_RESULTS_DIR`` names a folder and :func:`record` writes each figure there
as JSON, so the build can print one table of what it measured.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cortex.runtime import runtime_facts
from cortex.utils.atomic_file import atomic_write_text

__all__ = ["RESULTS_DIR_ENV", "load_results", "ns_per_call", "publish", "record"]

RESULTS_DIR_ENV = "CORTEX_RESULTS_DIR"


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


def record(source: str, key: str, value: float | int | str, unit: str = "") -> None:
    """Store one measured figure for the build's summary (no-op outside a build).

    Args:
        source: where it was measured, e.g. ``"01-singletons"``.
        key: what it is, e.g. ``"fast_path_ratio"``.
        value: the figure.
        unit: e.g. ``"ns/call"`` or ``"x"``.
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
    document["figures"][key] = {"value": value, "unit": unit}
    atomic_write_text(path, json.dumps(document, indent=2, sort_keys=True))


def load_results(directory: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Every recorded source in ``directory``, keyed by source name."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(Path(directory).glob("*.json"))
    }


def publish(source: str, key: str, value: float | int | str, unit: str = "") -> None:
    """Record a figure (see :func:`record`) and glue it for the guide's ``{glue}`` roles.

    Call it from a notebook cell marked ``NBVAL_IGNORE_OUTPUT``: the glue is a hidden
    output that changes with every measurement.
    """
    record(source, key, value, unit)
    from myst_nb import glue  # noqa: PLC0415 - only notebooks need myst-nb

    glue(key, value, display=False)
