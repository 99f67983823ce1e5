"""The reliability ledger: what the stress, crash and bad-input tests tried, and what was lost.

Tests add to the process-wide :data:`LEDGER` (``LEDGER.add("sqlite", threads=32,
operations=3200)``); :func:`cortex.demos.harness.run_together` adds its threads by itself.
At the end of a pytest session the totals are printed as a table and written to JSON, which
the guide's reliability page shows. ``data_lost`` must stay 0: a test that finds a loss
fails, and the ledger records what it saw so the report can never claim more than was run.

Unsafe twins are run too, to prove each check catches the bug it guards; they are recorded
under their area with :data:`TWINS_SUFFIX` appended (``"sqlite (twins)"``, see
:func:`area_for`) and are left out of the ``total`` row, which therefore counts only the
fixed code: its ``data_lost`` must be 0, while the twins' rows show what the bugs lose.

``python -m cortex.demos.ledger [_build/reliability.json]`` prints the table a test session
wrote, with the interpreter banner and the date (:func:`main`).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cortex.utils.atomic_file import atomic_write_text

__all__ = [
    "LEDGER",
    "TWINS_SUFFIX",
    "Ledger",
    "LedgerRow",
    "area_for",
    "describe_run",
    "format_report",
    "format_table",
    "main",
    "read_report",
]

COLUMNS = ("threads", "operations", "processes", "faults", "bad_inputs", "data_lost")

TWINS_SUFFIX = " (twins)"
"""Appended to an area for the unsafe twins' runs; such rows are not part of ``total``."""

DEFAULT_REPORT = Path("_build") / "reliability.json"
"""Where the test session writes the ledger (relative to the repository root)."""


def area_for(area: str, *, fixed: bool) -> str:
    """``area`` for the fixed code, ``area + TWINS_SUFFIX`` for an unsafe twin's run.

    Example: ``area_for("sqlite", fixed=kind in {"pool", "percall"})``.
    """
    return area if fixed else area + TWINS_SUFFIX


def format_table(rows: Mapping[str, Mapping[str, int]]) -> str:
    """``rows`` (a :meth:`Ledger.snapshot`, or the ``rows`` of the JSON) as a text table.

    The area column is as wide as the longest area name.
    """
    width = max([14, *(len(area) + 2 for area in rows)])
    header = f"{'area':<{width}}" + "".join(f"{c:>12}" for c in COLUMNS)
    lines = [header, "-" * len(header)]
    for area, row in rows.items():
        lines.append(f"{area:<{width}}" + "".join(f"{int(row.get(c, 0)):>12,}" for c in COLUMNS))
    return "\n".join(lines)


@dataclass
class LedgerRow:
    """Totals for one area (``sqlite``, ``files``, ``logging``...)."""

    threads: int = 0
    operations: int = 0
    processes: int = 0
    faults: int = 0
    bad_inputs: int = 0
    data_lost: int = 0


@dataclass
class Ledger:
    """Thread-safe totals per area."""

    rows: dict[str, LedgerRow] = field(default_factory=dict)
    # Guards rows: tests add from many threads at once.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self,
        area: str,
        *,
        threads: int = 0,
        operations: int = 0,
        processes: int = 0,
        faults: int = 0,
        bad_inputs: int = 0,
        data_lost: int = 0,
    ) -> None:
        """Add counts to ``area``."""
        with self._lock:
            row = self.rows.setdefault(area, LedgerRow())
            row.threads += threads
            row.operations += operations
            row.processes += processes
            row.faults += faults
            row.bad_inputs += bad_inputs
            row.data_lost += data_lost

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of every row, plus a ``total`` row over the fixed code's areas.

        Rows whose area ends with :data:`TWINS_SUFFIX` are listed but not totalled.
        """
        with self._lock:
            rows = {area: asdict(row) for area, row in sorted(self.rows.items())}
        fixed = [r for area, r in rows.items() if not area.endswith(TWINS_SUFFIX)]
        rows["total"] = {c: sum(r[c] for r in fixed) for c in COLUMNS}
        return rows

    def table(self) -> str:
        """The totals as a fixed-width text table."""
        return format_table(self.snapshot())

    def write_json(self, path: str | Path, meta: dict[str, object]) -> None:
        """Write the snapshot and ``meta`` (interpreter, date) as JSON."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        document = {"meta": meta, "rows": self.snapshot()}
        atomic_write_text(target, json.dumps(document, indent=2))


LEDGER = Ledger()
"""The process-wide ledger the test session reports."""


def describe_run(meta: Mapping[str, object]) -> str:
    """The interpreter banner of a ledger's ``meta`` (as
    :meth:`cortex.runtime.RuntimeFacts.banner` prints it) and the switch interval.

    Example: ``CPython 3.13.0, GIL build, GIL on, 2 cores, x86_64; switch interval 0.005 s``.
    """
    runtime = meta.get("runtime")
    if isinstance(runtime, Mapping):
        gil = "GIL on" if runtime.get("gil_enabled") else "GIL off"
        build = "free-threaded build" if runtime.get("free_threaded_build") else "GIL build"
        banner = (
            f"{runtime.get('implementation', '?')} {runtime.get('python_version', '?')}, "
            f"{build}, {gil}, {runtime.get('cores', '?')} cores, {runtime.get('machine', '?')}"
        )
    else:
        banner = "interpreter unknown"
    interval = meta.get("switch_interval_s")
    if isinstance(interval, (int, float)):
        banner += f"; switch interval {interval:g} s"
    return banner


def read_report(path: str | Path) -> tuple[dict[str, object], dict[str, dict[str, int]]]:
    """The ``(meta, rows)`` of a ledger JSON file written by :meth:`Ledger.write_json`.

    Raises:
        OSError: the file cannot be read (``FileNotFoundError`` when it is missing).
        ValueError: it is not JSON, or not a ledger.
    """
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    meta = document.get("meta") if isinstance(document, dict) else None
    rows = document.get("rows") if isinstance(document, dict) else None
    if not isinstance(meta, dict) or not isinstance(rows, dict):
        raise ValueError("not a reliability ledger: expected 'meta' and 'rows' objects")
    return meta, rows


def format_report(meta: Mapping[str, object], rows: Mapping[str, Mapping[str, int]]) -> str:
    """The text report: interpreter banner, date, then the table."""
    finished = meta.get("finished_at", "date unknown")
    return f"{describe_run(meta)}\nrun finished {finished}\n\n{format_table(rows)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report stored at ``argv[0]`` (default ``_build/reliability.json``).

    Returns:
        0 when printed; 1 (with one line on stderr) when the file is missing or unreadable.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else DEFAULT_REPORT
    try:
        meta, rows = read_report(path)
    except FileNotFoundError:
        print(f"{path}: no reliability report; run the tests first (make test)", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"{path}: cannot read the reliability report: {exc}", file=sys.stderr)
        return 1
    print(format_report(meta, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
