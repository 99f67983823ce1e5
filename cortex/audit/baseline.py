"""A baseline: the findings a team has already read, so that a run shows only new ones.

``python -m cortex.audit src --write-baseline audit-baseline.json`` records every
unsuppressed finding of the run (``info`` ones included); ``--baseline
audit-baseline.json`` then leaves those out of the report and the exit status. A finding
is recognised by its file, its pattern and the text of its line (stripped), not by its
line number, so code added above it does not make it new; two findings with the same key
are matched by count, so a second copy of a reported line is new.

The file is JSON, sorted and indented, meant to be committed and reviewed like code::

    {"version": 1, "findings": [{"path": "app/cache.py", "rule": "shared-rmw",
      "code": "self.hits += 1", "count": 1}]}
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from cortex.audit.model import RULES, Finding
from cortex.utils.atomic_file import atomic_write_text

__all__ = ["BASELINE_VERSION", "BaselineError", "Key", "key_of", "load", "mark", "write"]

BASELINE_VERSION = 1

Key = tuple[str, str, str]
"""``(path, rule id, stripped text of the reported line)``."""


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message names the file and the fault."""


def key_of(finding: Finding, lines: dict[str, list[str]]) -> Key:
    """The key that recognises ``finding`` across runs. ``lines`` caches each file's lines
    (read once per file); a file that cannot be read gives an empty text."""
    if finding.path not in lines:
        try:
            text = Path(finding.path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        lines[finding.path] = text.splitlines()
    file_lines = lines[finding.path]
    code = file_lines[finding.line - 1].strip() if 0 < finding.line <= len(file_lines) else ""
    return (finding.path, finding.rule.id, code)


def write(path: str | os.PathLike[str], findings: list[Finding]) -> int:
    """Record ``findings`` in ``path`` (replaced atomically); return how many."""
    lines: dict[str, list[str]] = {}
    counts = Counter(key_of(f, lines) for f in findings)
    document: dict[str, Any] = {
        "version": BASELINE_VERSION,
        "findings": [
            {"path": p, "rule": r, "code": c, "count": n} for (p, r, c), n in sorted(counts.items())
        ],
    }
    atomic_write_text(path, json.dumps(document, indent=1, ensure_ascii=False) + "\n", mode=0o644)
    return sum(counts.values())


def load(path: str | os.PathLike[str]) -> Counter[Key]:
    """The findings recorded in ``path``, counted by key.

    Raises:
        BaselineError: the file cannot be read, is not JSON, or is not a baseline of this
            version (an entry without its fields, a count that is not a positive integer,
            a pattern this audit does not have).
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline ({exc.strerror})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BaselineError(f"{path}: not a JSON baseline ({exc})") from exc
    if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION:
        raise BaselineError(f"{path}: not a version {BASELINE_VERSION} cortex-audit baseline")
    entries = document.get("findings")
    if not isinstance(entries, list):
        raise BaselineError(f"{path}: 'findings' must be a list")
    counts: Counter[Key] = Counter()
    for index, entry in enumerate(entries):
        fields = entry if isinstance(entry, dict) else {}
        key = (fields.get("path"), fields.get("rule"), fields.get("code"))
        count = fields.get("count")
        if not all(isinstance(part, str) for part in key) or not (
            isinstance(count, int) and not isinstance(count, bool) and count > 0
        ):
            raise BaselineError(
                f"{path}: finding {index} needs 'path', 'rule' and 'code' strings and a "
                "positive integer 'count'"
            )
        if key[1] not in RULES:
            raise BaselineError(f"{path}: finding {index} names an unknown pattern {key[1]!r}")
        counts[(str(key[0]), str(key[1]), str(key[2]))] += count
    return counts


def mark(findings: list[Finding], baseline: Counter[Key]) -> list[Finding]:
    """``findings`` with those the baseline covers marked ``in_baseline`` (in order: the
    first ``count`` findings of a key are the known ones)."""
    remaining = Counter(baseline)
    lines: dict[str, list[str]] = {}
    marked: list[Finding] = []
    for finding in findings:
        if finding.suppressed:
            marked.append(finding)
            continue
        key = key_of(finding, lines)
        if remaining[key] > 0:
            remaining[key] -= 1
            marked.append(finding.with_baseline())
        else:
            marked.append(finding)
    return marked
