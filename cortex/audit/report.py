"""Render an :class:`~cortex.audit.engine.AuditResult` as text, JSON or SARIF 2.1.0.

* **text**: a summary table (``Category``, ``Count``, ``Severity``: the highest severity
  found in that category) followed by one entry per finding with the guide page to read.
* **json**: the same data, stable keys, for scripts.
* **sarif**: SARIF 2.1.0 for code-scanning tools (GitHub code scanning, IDE viewers).
  Suppressed findings are kept with an ``inSource`` suppression and its justification.
"""

from __future__ import annotations

import json
from typing import Any

from cortex import __version__
from cortex.audit.engine import AuditResult
from cortex.audit.model import RULES, Finding, Severity

__all__ = [
    "SARIF_SCHEMA",
    "TOOL_NAME",
    "format_json",
    "format_sarif",
    "format_text",
    "summary_rows",
    "to_json_document",
    "to_sarif_document",
]

TOOL_NAME = "cortex-audit"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {
    Severity.INFO: "note",
    Severity.LOW: "note",
    Severity.MEDIUM: "warning",
    Severity.HIGH: "error",
    Severity.CRITICAL: "error",
}
_SECURITY_SEVERITY = {
    Severity.INFO: "1.0",
    Severity.LOW: "3.0",
    Severity.MEDIUM: "5.0",
    Severity.HIGH: "7.5",
    Severity.CRITICAL: "9.0",
}


def summary_rows(findings: list[Finding]) -> list[tuple[str, int, str]]:
    """``(category, count, highest severity)`` per category, in rule order."""
    rows: dict[str, tuple[int, Severity]] = {}
    order = list(dict.fromkeys(r.category for r in RULES.values()))
    for finding in findings:
        count, worst = rows.get(finding.rule.category, (0, Severity.INFO))
        rows[finding.rule.category] = (count + 1, max(worst, finding.severity))
    return [
        (category, rows[category][0], rows[category][1].label)
        for category in order
        if category in rows
    ]


def format_text(result: AuditResult, *, show_suppressed: bool = False) -> str:
    """The summary table and the detailed list, as printed by the command line."""
    active = result.active
    lines = [
        f"cortex-audit: {len(result.files)} file(s) scanned, {len(active)} finding(s), "
        f"{len(result.suppressed)} suppressed"
    ]
    if result.hidden:
        lines[0] += f", {len(result.hidden)} info hidden (--show-info lists them)"
    if result.baselined:
        lines[0] += f", {len(result.baselined)} in the baseline"
    if active:
        rows = summary_rows(active)
        width = max(len("Category"), *(len(r[0]) for r in rows))
        lines += ["", f"{'Category':<{width}}  Count  Severity", f"{'-' * width}  -----  --------"]
        lines += [f"{cat:<{width}}  {count:>5}  {sev}" for cat, count, sev in rows]
        lines += ["", "Findings"]
        for finding in active:
            lines.append(
                f"{finding.path}:{finding.line}:{finding.column}: {finding.severity.label} "
                f"[{finding.rule.id}] {finding.message}"
            )
            lines.append(f"    fix: {finding.rule.fix} (see {finding.rule.guide_path})")
    if show_suppressed and result.suppressed:
        lines += ["", "Suppressed"]
        for finding in result.suppressed:
            lines.append(
                f"{finding.path}:{finding.line}:{finding.column}: [{finding.rule.id}] "
                f"{finding.suppressed_reason}"
            )
    return "\n".join(lines) + "\n"


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "rule": finding.rule.id,
        "category": finding.rule.category,
        "severity": finding.severity.label,
        "message": finding.message,
        "fix": finding.rule.fix,
        "guide": finding.rule.guide_path,
        "suppressed": finding.suppressed,
        "suppression_reason": finding.suppressed_reason,
    }


def to_json_document(result: AuditResult) -> dict[str, Any]:
    """The JSON report as a mapping: ``tool``, ``version``, ``files_scanned``, ``summary``
    (list of ``{category, count, severity}``), ``findings`` (active), ``suppressed`` and
    ``info_hidden`` (how many ``info`` findings were left out)."""
    return {
        "tool": TOOL_NAME,
        "version": __version__,
        "files_scanned": len(result.files),
        "summary": [
            {"category": c, "count": n, "severity": s} for c, n, s in summary_rows(result.active)
        ],
        "findings": [_finding_json(f) for f in result.active],
        "suppressed": [_finding_json(f) for f in result.suppressed],
        "info_hidden": len(result.hidden),
        "in_baseline": len(result.baselined),
    }


def format_json(result: AuditResult) -> str:
    """:func:`to_json_document`, serialised (indented, stable key order)."""
    return json.dumps(to_json_document(result), indent=2) + "\n"


def _sarif_rule(rule_id: str) -> dict[str, Any]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "name": "".join(part.title() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title}. Fix: {rule.fix}."},
        "help": {
            "text": f"{rule.fix}. See {rule.guide_path}.",
            "markdown": f"{rule.fix}. See `{rule.guide_path}`.",
        },
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {
            "category": rule.category,
            "severity": rule.severity.label,
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "tags": ["concurrency", "free-threading"],
        },
    }


def to_sarif_document(result: AuditResult) -> dict[str, Any]:
    """The SARIF 2.1.0 log as a mapping: one run, every rule, one result per finding."""
    rule_ids = list(RULES)
    results: list[dict[str, Any]] = []
    for finding in [*result.active, *result.suppressed]:  # info findings only if shown
        entry: dict[str, Any] = {
            "ruleId": finding.rule.id,
            "ruleIndex": rule_ids.index(finding.rule.id),
            "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": f"{finding.message}. Fix: {finding.rule.fix}."},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": finding.line, "startColumn": finding.column},
                    }
                }
            ],
            "partialFingerprints": {
                "cortexAudit/v1": f"{finding.path}:{finding.rule.id}:{finding.message}"
            },
        }
        if finding.suppressed:
            entry["suppressions"] = [
                {"kind": "inSource", "justification": finding.suppressed_reason}
            ]
        results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "rules": [_sarif_rule(r) for r in rule_ids],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "working dir"}}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def format_sarif(result: AuditResult) -> str:
    """:func:`to_sarif_document`, serialised."""
    return json.dumps(to_sarif_document(result), indent=2) + "\n"
