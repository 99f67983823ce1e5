"""Sphinx directives that render generated tables, so the guide cannot drift from them.

``.. cortex-race-table::`` renders :data:`cortex.race_catalog.RACES`.

``.. cortex-audit-rounds::`` and ``.. cortex-audit-first-pass-rules::`` render each
round's first pass (``tests/audit_eval/rounds/``), by package and pooled by rule.

``.. cortex-audit-eval::`` renders the audit's precision and recall on real code
(:mod:`cortex.audit.evaluate`): computed while the page is built when every corpus is on
this machine, otherwise read from the committed result ``docs/_data/audit-eval.json``,
and the page says which. Set ``CORTEX_AUDIT_EVAL_LIVE=0`` to use the committed result
even when the corpora are present.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from cortex.audit.evaluate import DIAGNOSTICS, RESULT_FILE, evaluate, find_corpora
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


def _precision(value: object) -> str:
    return "-" if value is None else f"{value:.2f}"


def _evaluation() -> tuple[dict[str, Any], str]:
    """The evaluation result and a sentence saying where it comes from."""
    live = os.environ.get("CORTEX_AUDIT_EVAL_LIVE", "1") != "0"
    missing: list[str] = []
    if live:
        _corpora, missing = find_corpora()
        if not missing:
            return evaluate().as_dict(), (
                "Computed while this page was built, by python -m cortex.audit.evaluate."
            )
    data: dict[str, Any] = json.loads(RESULT_FILE.read_text(encoding="utf-8"))
    why = (
        f"absent on the machine that built this page: {', '.join(missing)}"
        if missing
        else "CORTEX_AUDIT_EVAL_LIVE=0"
    )
    return data, (
        f"The committed result of {data['generated']} ({data['interpreter']}), "
        f"docs/_data/audit-eval.json, shown because the corpora were not audited here "
        f"({why}); python -m cortex.audit.evaluate fetch, then a rebuild, recomputes it."
    )


def _corpus_rows(corpora: list[dict[str, Any]]) -> list[list[nodes.Node | str]]:
    return [
        [
            _literal(c["name"]),
            c["version"],
            f"round {c['round']}" if c.get("round") else "",
            str(c["shown"]),
            str(c["true"]),
            str(c["false"]),
            str(c["info"]),
            _precision(c["precision"]),
        ]
        for c in corpora
    ]


_CORPUS_HEADERS = ["Corpus", "Version", "Added", "Shown", "True", "False", "Info", "Precision"]


_RECALL_HEADERS = ["Defects", "Found", "Recall"]


def _recall_cells(tally: dict[str, Any]) -> list[nodes.Node | str]:
    """Defects labelled true, those shown, and the recall."""
    return [str(tally["defects"]), str(tally["found"]), _precision(tally["recall"])]


def _any_severity_paragraph(recall: dict[str, Any], every: dict[str, Any]) -> nodes.paragraph:
    """What showing the ``info`` findings too would change, from the evaluation's
    ``any_severity`` record."""
    labelled = every["true"] + every["false"]
    paragraph = nodes.paragraph()
    paragraph += nodes.Text("With the info findings shown too (")
    paragraph += nodes.literal(text="--show-info")
    paragraph += nodes.Text(
        f"), {len(every['hidden'])} of the {len(recall['missed'])} missed defects would be "
        f"reported: recall {every['found']}/{recall['defects']} = "
        f"{_precision(every['recall'])}, at a precision of {every['true']}/{labelled} = "
        f"{_precision(every['precision'])}. The other {every['without_finding']} have no "
        "finding of their rule at their line at any severity: no rule, however its "
        "evidence were weighed, reports them."
    )
    return paragraph


class AuditEvalTable(SphinxDirective):
    """The audit's precision per corpus and per rule on real code, and its recall."""

    def run(self) -> list[nodes.Node]:
        data, source = _evaluation()
        out: list[nodes.Node] = [nodes.paragraph(text=source)]
        out.append(_table(_CORPUS_HEADERS, _corpus_rows(data["corpora"])))
        pooled = [
            [
                name,
                str(t["shown"]),
                str(t["true"]),
                str(t["false"]),
                _precision(t["precision"]),
                *_recall_cells(t),
            ]
            for name, t in data["pooled"].items()
        ]
        out.append(nodes.rubric(text="Pooled"))
        out.append(
            _table(["Corpora", "Shown", "True", "False", "Precision", *_RECALL_HEADERS], pooled)
        )
        rules = [
            [
                _literal(rule_id),
                str(t["shown"]),
                str(t["true"]),
                str(t["false"]),
                str(t["info"]),
                _precision(t["precision"]),
                *_recall_cells(t),
            ]
            for rule_id, t in data["rules"].items()
        ]
        out.append(nodes.rubric(text="Per rule, every corpus"))
        out.append(
            _table(["Rule", "Shown", "True", "False", "Info", "Precision", *_RECALL_HEADERS], rules)
        )
        recall = data["recall"]
        text = (
            f"Recall on the {recall['defects']} defects labelled true: {recall['found']} "
            f"reported at default severity, {_precision(recall['recall'])}."
        )
        if recall["missed"]:
            text += " Missed: " + "; ".join(recall["missed"]) + "."
        out.append(nodes.paragraph(text=text))
        out.append(_any_severity_paragraph(recall, data["any_severity"]))
        out.append(
            nodes.paragraph(
                text=f"Interpreter: {data['interpreter']}"
                + (" (free-threaded)" if data.get("free_threaded") else "")
                + f"; targets: precision {data['precision_target']} on every corpus, "
                f"recall {data['recall_target']}."
            )
        )
        return out


_EVALUATION = Path(__file__).resolve().parents[2] / "tests" / "audit_eval"


def _rounds() -> Iterator[tuple[int, dict[str, Any], list[dict[str, Any]]]]:
    """``(number, record, new packages)`` of each round kept in ``rounds/``: the record of
    its first pass, and the entries of the packages that round added."""
    corpora = json.loads((_EVALUATION / "corpora.json").read_text(encoding="utf-8"))
    added = {p["name"]: p.get("round", 0) for p in corpora["packages"]}
    for path in sorted((_EVALUATION / "rounds").glob("round*.json")):
        number = int(path.stem.removeprefix("round"))
        data = json.loads(path.read_text(encoding="utf-8"))
        yield number, data, [c for c in data["corpora"] if added.get(c["name"]) == number]


def _round_rows() -> list[list[nodes.Node | str]]:
    """Each round's new packages as they scored when labelled, before any rule change."""
    labels = json.loads((_EVALUATION / "labels.json").read_text(encoding="utf-8"))["labels"]
    rows: list[list[nodes.Node | str]] = []
    for number, data, new in _rounds():
        missed = [m.split(":", 1)[0] for m in data["recall"]["missed"]]
        defects = {
            c["name"]: sum(
                1
                for x in labels
                if x["corpus"] == c["name"]
                and x["verdict"] == "true"
                and x["rule"] not in DIAGNOSTICS
            )
            for c in new
        }
        for corpus in new:
            name = corpus["name"]
            rows.append(
                [
                    str(number),
                    _literal(name),
                    corpus["version"],
                    str(corpus["shown"]),
                    str(corpus["true"]),
                    str(corpus["false"]),
                    _precision(corpus["precision"]),
                    str(defects[name]),
                    str(defects[name] - missed.count(name)),
                ]
            )
        if len(new) > 1:  # the round pooled: its packages' shown findings together
            true = sum(c["true"] for c in new)
            false = sum(c["false"] for c in new)
            total = sum(defects.values())
            rows.append(
                [
                    str(number),
                    "all of the round",
                    "",
                    str(sum(c["shown"] for c in new)),
                    str(true),
                    str(false),
                    _precision(true / (true + false) if true + false else None),
                    str(total),
                    str(total - sum(missed.count(c["name"]) for c in new)),
                ]
            )
    return rows


class AuditRoundsTable(SphinxDirective):
    """Each round of later packages as it scored before any rule was changed for it."""

    def run(self) -> list[nodes.Node]:
        headers = [
            "Round",
            "Corpus",
            "Version",
            "Shown",
            "True",
            "False",
            "Precision",
            "Defects",
            "Reported",
        ]
        return [_table(headers, _round_rows())]


def _first_pass_rule_rows() -> list[list[nodes.Node | str]]:
    """Each rule's shown findings on the rounds' new packages at their first pass, pooled
    over the rounds whose record counts them by rule."""
    pooled: dict[str, dict[str, Any]] = {}
    for number, _data, new in _rounds():
        for corpus in new:
            if "rules" not in corpus:
                continue
            for rule, counts in corpus["rules"].items():
                entry = pooled.setdefault(
                    rule, {"rounds": set(), "true": 0, "false": 0, "unlabelled": 0, "info": 0}
                )
                entry["rounds"].add(number)
                for key in ("true", "false", "unlabelled", "info"):
                    entry[key] += counts[key]
    rows: list[list[nodes.Node | str]] = []
    for rule, entry in sorted(pooled.items()):
        shown = entry["true"] + entry["false"] + entry["unlabelled"]
        rows.append(
            [
                _literal(rule),
                ", ".join(str(n) for n in sorted(entry["rounds"])),
                str(shown),
                str(entry["true"]),
                str(entry["false"]),
                _precision(entry["true"] / shown if shown else None),
                str(entry["info"]),
            ]
        )
    return rows


class AuditFirstPassRulesTable(SphinxDirective):
    """Each rule's first-pass precision on packages it had never seen."""

    def run(self) -> list[nodes.Node]:
        headers = ["Rule", "Rounds", "Shown", "True", "False", "Precision", "Info"]
        return [_table(headers, _first_pass_rule_rows())]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("cortex-race-table", RaceTable)
    app.add_directive("cortex-audit-eval", AuditEvalTable)
    app.add_directive("cortex-audit-rounds", AuditRoundsTable)
    app.add_directive("cortex-audit-first-pass-rules", AuditFirstPassRulesTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
