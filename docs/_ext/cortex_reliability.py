"""The reliability page's report, drawn from the ledger the last test session wrote.

On ``builder-inited`` this writes ``docs/_generated/reliability.md`` (ignored by git), which
``docs/reliability.md`` includes: a Markdown table of ``_build/reliability.json`` (written by
``tests/conftest.py`` at the end of every pytest session), with the interpreter and the date
of that run. Where no test session ran before the build (``make guide`` on a fresh clone),
the newest committed ledger, ``benchmarks/results/reliability_*.json``, is shown instead and
labelled as a committed run. Nothing is typed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from cortex.demos.ledger import COLUMNS, TWINS_SUFFIX, describe_run, read_report

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "_build" / "reliability.json"
COMMITTED = ROOT / "benchmarks" / "results"
OUT = ROOT / "docs" / "_generated" / "reliability.md"

MISSING = (
    "No reliability report yet: run `make test` first (its pytest session writes "
    "`_build/reliability.json`), then build the guide again.\n"
)


def render(
    meta: Mapping[str, object], rows: Mapping[str, Mapping[str, int]], *, source: str = ""
) -> str:
    """The report as Markdown: which run it is, then one table row per area."""
    header = "| area | " + " | ".join(c.replace("_", " ") for c in COLUMNS) + " |"
    lines = [
        f"Run on {describe_run(meta)}; finished {meta.get('finished_at', 'at an unknown time')}"
        + (f" ({source})." if source else "."),
        "",
        header,
        "|:--|" + "--:|" * len(COLUMNS),
    ]
    for area, row in rows.items():
        name = f"**{area}**" if area == "total" else area
        lines.append(f"| {name} | " + " | ".join(f"{int(row.get(c, 0)):,}" for c in COLUMNS) + " |")
    if any(area.endswith(TWINS_SUFFIX) for area in rows):
        lines += [
            "",
            f"Rows marked *{TWINS_SUFFIX.strip()}* are the unsafe twins, run to show that each "
            "check catches the bug it guards; they are not part of the total.",
        ]
    return "\n".join(lines) + "\n"


def generate(_app: Sphinx) -> None:
    """Write ``docs/_generated/reliability.md`` from the latest ledger (or the note)."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    committed = sorted(COMMITTED.glob("reliability_*.json"))
    report, source = (REPORT, "the test session before this build")
    if not REPORT.exists() and committed:
        report = committed[-1]
        source = (
            f"committed run `{report.relative_to(ROOT)}`: no test session ran before this build"
        )
    try:
        meta, rows = read_report(report)
    except FileNotFoundError:
        text = MISSING
    except (OSError, ValueError) as exc:
        text = f"The reliability report `_build/reliability.json` cannot be read ({exc}).\n"
    else:
        text = render(meta, rows, source=source)
    OUT.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
