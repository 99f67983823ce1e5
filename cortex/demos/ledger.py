"""The reliability ledger: what the stress, crash and bad-input tests tried, and what was lost.

Tests add to the process-wide :data:`LEDGER` (``LEDGER.add("sqlite", threads=32,
operations=3200)``); :func:`cortex.demos.harness.run_together` adds its threads by itself.
At the end of a pytest session the totals are printed as a table and written to JSON, which
the guide's reliability page shows. ``data_lost`` must stay 0: a test that finds a loss
fails, and the ledger records what it saw so the report can never claim more than was run.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cortex.utils.atomic_file import atomic_write_text

__all__ = ["LEDGER", "Ledger", "LedgerRow"]

COLUMNS = ("threads", "operations", "processes", "faults", "bad_inputs", "data_lost")


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
        """A copy of every row, plus a ``total`` row."""
        with self._lock:
            rows = {area: asdict(row) for area, row in sorted(self.rows.items())}
        rows["total"] = {c: sum(r[c] for r in rows.values()) for c in COLUMNS}
        return rows

    def table(self) -> str:
        """The totals as a fixed-width text table."""
        rows = self.snapshot()
        header = f"{'area':<14}" + "".join(f"{c:>12}" for c in COLUMNS)
        lines = [header, "-" * len(header)]
        for area, row in rows.items():
            lines.append(f"{area:<14}" + "".join(f"{row[c]:>12,}" for c in COLUMNS))
        return "\n".join(lines)

    def write_json(self, path: str | Path, meta: dict[str, object]) -> None:
        """Write the snapshot and ``meta`` (interpreter, date) as JSON."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        document = {"meta": meta, "rows": self.snapshot()}
        atomic_write_text(target, json.dumps(document, indent=2))


LEDGER = Ledger()
"""The process-wide ledger the test session reports."""
