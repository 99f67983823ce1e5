"""A Sphinx directive that renders the race catalogue, so the guide cannot drift from it.

``.. cortex-race-table::`` renders :data:`cortex.demos.catalog.RACES`.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from cortex.demos.catalog import RACES


def _table(headers: list[str], rows: list[list[nodes.Node | str]]) -> nodes.table:
    table = nodes.table(classes=["cortex-generated"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head_row = nodes.row()
    head += head_row
    for header in headers:
        head_row += nodes.entry("", nodes.paragraph(text=header))
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        body += row
        for cell in cells:
            content = cell if isinstance(cell, nodes.Node) else nodes.paragraph(text=cell)
            row += nodes.entry("", content)
    return table


def _literal(text: str) -> nodes.paragraph:
    return nodes.paragraph("", "", nodes.literal(text=text))


class RaceTable(SphinxDirective):
    """The audit: module, race, severity, fix, unsafe twin, tests, notebook, guide page."""

    def run(self) -> list[nodes.Node]:
        rows: list[list[nodes.Node | str]] = []
        for entry in RACES:
            tests = nodes.paragraph()
            for i, test in enumerate(entry.tests):
                if i:
                    tests += nodes.Text(", ")
                tests += nodes.literal(text=test.split("::", 1)[1])
            rows.append(
                [
                    _literal(entry.module),
                    entry.race,
                    entry.severity,
                    entry.fix,
                    _literal(entry.twin.rsplit(".", 1)[1]),
                    tests,
                    _literal(f"{entry.notebook}.ipynb"),
                    _literal(f"guide/{entry.guide_page}"),
                ]
            )
        headers = ["Module", "Race", "Severity", "Fix", "Twin", "Tests", "Notebook", "Guide"]
        return [_table(headers, rows)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("cortex-race-table", RaceTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
