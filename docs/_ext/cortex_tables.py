"""A Sphinx directive that renders the race catalogue, so the guide cannot drift from it.

``.. cortex-race-table::`` renders :data:`cortex.race_catalog.RACES`.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from cortex.race_catalog import RACES


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


def _doc_link(target: str) -> addnodes.pending_xref:
    """A link to another page of the guide, shown with that page's title."""
    ref = addnodes.pending_xref(
        "", refdomain="std", reftype="doc", reftarget=f"/{target}", refexplicit=False
    )
    ref += nodes.inline(text=target)
    return ref


def _literal(text: str) -> nodes.paragraph:
    return nodes.paragraph("", "", nodes.literal(text=text))


class RaceTable(SphinxDirective):
    """The audit: a summary table, then the evidence for each race."""

    def run(self) -> list[nodes.Node]:
        summary: list[list[nodes.Node | str]] = [
            [_literal(e.module), e.race, e.severity, e.fix] for e in RACES
        ]
        table = _table(["Module", "Race", "Severity", "Fix"], summary)
        details = nodes.definition_list()
        for number, entry in enumerate(RACES, start=1):
            term = nodes.term("", f"{number}. ", nodes.literal(text=entry.module))
            term += nodes.Text(f": {entry.race}")
            evidence = nodes.bullet_list()
            items: list[tuple[str, list[str]]] = [
                ("unsafe twin", [entry.twin]),
                ("tests", list(entry.tests)),
            ]
            for label, target in (
                ("notebook", f"notebooks/{entry.notebook}"),
                ("guide page", f"docs/guide/{entry.guide_page}"),
            ):
                link = nodes.paragraph(text=f"{label}: ")
                link += _doc_link(target)
                evidence += nodes.list_item("", link)
            for label, values in items:
                item = nodes.paragraph(text=f"{label}: ")
                for k, value in enumerate(values):
                    if k:
                        item += nodes.Text(", ")
                    item += nodes.literal(text=value)
                evidence += nodes.list_item("", item)
            details += nodes.definition_list_item("", term, nodes.definition("", evidence))
        heading = nodes.rubric(text="Evidence for each race")
        return [table, heading, details]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("cortex-race-table", RaceTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
