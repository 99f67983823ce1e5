"""Add a by-rule breakdown to the first pass of earlier audit-evaluation rounds.

``tests/audit_eval/rounds/roundN.json`` keeps how round N's new packages scored when they
had just been labelled, before any rule changed for them. Rounds recorded before the
evaluation counted findings by package *and* rule kept only the totals per package. This
script recovers the breakdown from history: for each round it checks out the commit that
recorded the round (rules frozen, labels complete) into a temporary worktree, audits that
round's packages with that commit's own code and labels, and stores the counts per rule
under each new package's ``rules`` key, as ``python -m cortex.audit.evaluate`` now writes
them. A round is left untouched when the recomputed totals differ from the stored ones.

Usage (the packages must be fetched: ``python -m cortex.audit.evaluate fetch``)::

    python tools/audit_first_pass.py 4 5 6 7 8 9 10 11 12
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = ROOT / "tests" / "audit_eval" / "rounds"

# Run inside the old checkout: its evaluate module, its labels, its rules.
_COUNT_BY_RULE = """
import json, sys
from pathlib import Path
from cortex.audit import evaluate as ev
from cortex.audit.model import Severity

number = int(sys.argv[1])
labels = ev.load_labels()
corpora, _ = ev.find_corpora()
diagnostics = getattr(ev, "DIAGNOSTICS", {"parse-error"})
out = {}
for corpus in corpora:
    if corpus.round != number:
        continue
    rules = out.setdefault(corpus.name, {})
    for finding in ev.audit_paths(corpus.paths).findings:
        if finding.suppressed or finding.rule.id in diagnostics:
            continue
        path = Path(finding.path).resolve()
        relative = path.relative_to(corpus.root.resolve()).as_posix()
        code = ev._code_at(path, finding.line, {})
        label = ev._match(labels, corpus.name, relative, finding, code)
        if finding.severity < Severity.LOW:
            outcome = "info"
        elif label is None:
            outcome = "unlabelled"
        else:
            outcome = "true" if label.verdict else "false"
        empty = {"true": 0, "false": 0, "unlabelled": 0, "info": 0}
        counts = rules.setdefault(finding.rule.id, empty)
        counts[outcome] += 1
print(json.dumps(out))
"""


def _recording_commit(number: int) -> str:
    log = subprocess.run(
        [
            "git",
            "log",
            "--diff-filter=A",
            "--format=%H",
            "--",
            f"tests/audit_eval/rounds/round{number}.json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not log:
        raise SystemExit(f"round {number}: no commit added rounds/round{number}.json")
    return log[-1]


def _counts_at(commit: str, number: int) -> dict[str, dict[str, dict[str, int]]]:
    with tempfile.TemporaryDirectory(prefix=f"round{number}-") as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), commit],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", _COUNT_BY_RULE, str(number)],
                cwd=tree,
                env={**os.environ, "PYTHONPATH": str(tree)},
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True
            )
    result: dict[str, dict[str, dict[str, int]]] = json.loads(done.stdout)
    return result


def _with_precision(counts: dict[str, int]) -> dict[str, object]:
    shown = counts["true"] + counts["false"] + counts["unlabelled"]
    precision = round(counts["true"] / shown, 3) if shown else None
    return {"shown": shown, **counts, "precision": precision}


def backfill(number: int) -> str:
    """Add the per-rule counts to round ``number``'s record; say what was done."""
    path = ROUNDS / f"round{number}.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    by_corpus = _counts_at(_recording_commit(number), number)
    new = [c for c in record["corpora"] if c["name"] in by_corpus]
    for corpus in new:
        rules = by_corpus[corpus["name"]]
        for outcome in ("true", "false", "unlabelled", "info"):
            total = sum(r[outcome] for r in rules.values())
            if total != corpus[outcome]:
                return (
                    f"round {number}: {corpus['name']} {outcome} {total} != stored "
                    f"{corpus[outcome]}; left as it was"
                )
    for corpus in new:
        corpus["rules"] = {
            r: _with_precision(c) for r, c in sorted(by_corpus[corpus["name"]].items())
        }
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return f"round {number}: by-rule counts added for {', '.join(c['name'] for c in new)}"


def main(argv: list[str]) -> int:
    if not argv or not all(a.isdigit() for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    for number in map(int, argv):
        print(backfill(number))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
