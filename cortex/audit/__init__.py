"""A static audit for free-threading races: ``python -m cortex.audit PATH...``.

It reads Python source with the standard ``ast`` module (it never imports or runs the
code it audits) and reports the patterns this guide fixes: lazy singletons without a lock,
SQLite connections shared between threads or used after they went back to their pool,
writes never committed, files rewritten in place, per-instance locks on shared files,
read-modify-writes of shared state, shared iterators, asyncio primitives bound to the first
event loop and fallbacks that recurse without remembering what they tried.

Each finding names the file, the line, the pattern id, its severity and the guide page
that explains the fix. :mod:`cortex.audit.cli` is the command line,
:mod:`cortex.audit.report` renders text, JSON and SARIF, and :mod:`cortex.audit.corpus`
measures precision and recall on labelled samples (``python -m cortex.audit.corpus DIR``).

Example::

    from cortex.audit import audit_paths, format_text

    result = audit_paths(["src/"], exclude=["src/demos"])
    print(format_text(result))
"""

from __future__ import annotations

from cortex.audit.engine import AuditResult, audit_paths, audit_source
from cortex.audit.model import RULES, Finding, Rule, Severity
from cortex.audit.report import format_json, format_sarif, format_text

__all__ = [
    "RULES",
    "AuditResult",
    "Finding",
    "Rule",
    "Severity",
    "audit_paths",
    "audit_source",
    "format_json",
    "format_sarif",
    "format_text",
]
