"""The audit on real code: precision per corpus and per rule, recall on labelled defects.

``python -m cortex.audit.evaluate fetch`` downloads the pinned third-party packages listed
in ``tests/audit_eval/corpora.json`` from PyPI (``pip download --no-deps``) and unpacks
them into a cache outside the repository (``$CORTEX_AUDIT_EVAL_CACHE``, default
``~/.cache/cortex-audit-eval``); nothing is vendored.

``python -m cortex.audit.evaluate`` audits every corpus it can find (those packages, the
running interpreter's own concurrency modules, upstream Cortex read in place, and the
reproductions in ``tests/audit_eval/repro``), matches each finding with its hand-written
label in ``tests/audit_eval/labels.json`` and prints:

* precision per corpus and per rule, at the default severity (``info`` findings are
  hidden by default and not counted);
* recall on the defects labelled true (a true defect the audit no longer reports, or
  reports only as ``info``, is a miss);
* both again with the ``info`` findings shown too (``--show-info``), which says how much
  reading them would find, and how many missed defects no rule reports at any severity;
* every finding without a label, so that none is counted silently.

``--json FILE`` writes the same numbers, with the date, the versions and the interpreter,
for the guide (``docs/_data/audit-eval.json`` is the committed copy the guide shows when
the corpora are absent at build time). ``--check`` exits 1 when a target is missed or a
finding is unlabelled.

A label names ``corpus``, ``path`` (relative to the corpus root), ``line``, ``rule``,
``verdict`` (``true`` or ``false``), ``reason`` (one line) and ``code`` (the stripped
source line, so that a label still matches when the line number moves between versions of
the interpreter's standard library).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cortex.audit.engine import audit_paths
from cortex.audit.model import Finding, Severity

__all__ = [
    "PRECISION_TARGET",
    "RECALL_TARGET",
    "Corpus",
    "Evaluation",
    "Label",
    "cache_dir",
    "evaluate",
    "fetch",
    "find_corpora",
    "load_labels",
    "main",
]

PRECISION_TARGET = 0.8
"""Lowest acceptable precision on each corpus of real code, at default severity."""
RECALL_TARGET = 0.9
"""Lowest acceptable recall on the defects labelled true."""

ROOT = Path(__file__).resolve().parents[2]
EVAL_DIR = ROOT / "tests" / "audit_eval"
CORPORA_FILE = EVAL_DIR / "corpora.json"
LABELS_FILE = EVAL_DIR / "labels.json"
RESULT_FILE = ROOT / "docs" / "_data" / "audit-eval.json"
"""The committed result the guide falls back on."""


def cache_dir() -> Path:
    """Where fetched packages are unpacked (never inside the repository)."""
    configured = os.environ.get("CORTEX_AUDIT_EVAL_CACHE")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "cortex-audit-eval"


def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CORPORA_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Corpus:
    """One body of code the audit runs over as a whole (cross-module facts stay inside)."""

    name: str
    version: str
    root: Path
    """Paths in labels are relative to this directory."""
    paths: tuple[Path, ...]
    """What is audited, under :attr:`root`."""
    held_out: bool = False
    """Added in a later round, after a revision of the rules, and labelled before the next
    revision (its score then is kept in ``tests/audit_eval/rounds/``)."""
    round: int = 0
    """Which round added it (0: the corpora the rules were first revised against)."""


@dataclass(frozen=True)
class Label:
    """A human verdict on one finding (or on one defect the audit should report)."""

    corpus: str
    path: str
    line: int
    rule: str
    verdict: bool
    reason: str
    code: str = ""


def load_labels(path: Path = LABELS_FILE) -> list[Label]:
    """Every label in ``path``.

    Raises:
        ValueError: a label lacks a field or its verdict is not ``true``/``false``.
    """
    raw = json.loads(path.read_text(encoding="utf-8"))
    labels = []
    for number, entry in enumerate(raw["labels"], start=1):
        verdict = entry.get("verdict")
        if verdict not in {"true", "false"} or not entry.get("reason"):
            raise ValueError(f"{path}: label {number} needs verdict true/false and a reason")
        labels.append(
            Label(
                entry["corpus"],
                entry["path"],
                int(entry["line"]),
                entry["rule"],
                verdict == "true",
                entry["reason"],
                entry.get("code", ""),
            )
        )
    return labels


def fetch(*, quiet: bool = False) -> list[str]:
    """Download and unpack every pinned package not yet in :func:`cache_dir`.

    Returns:
        The names fetched now.

    Raises:
        subprocess.CalledProcessError: ``pip download`` failed (e.g. no network).
    """
    fetched = []
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    for package in _spec()["packages"]:
        target = cache / f"{package['name']}-{package['version']}"
        if (target / ".complete").exists():
            continue
        binary = ["--only-binary", ":all:"] if package["dist"] == "wheel" else ["--no-binary"]
        if package["dist"] != "wheel":
            binary.append(":all:")
        with tempfile.TemporaryDirectory() as download:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    *binary,
                    "--quiet",
                    "--dest",
                    download,
                    f"{package['name']}=={package['version']}",
                ],
                check=True,
            )
            (archive,) = list(Path(download).iterdir())
            target.mkdir(parents=True, exist_ok=True)
            if archive.suffix == ".whl":
                with zipfile.ZipFile(archive) as zipped:
                    zipped.extractall(target)  # noqa: S202 - zipfile drops ".." and roots
            else:
                with tarfile.open(archive) as tarred:  # a pinned sdist from PyPI
                    if sys.version_info >= (3, 12):
                        tarred.extractall(target, filter="data")
                    else:  # pragma: no cover - the data filter arrived in 3.12
                        tarred.extractall(target)  # noqa: S202
        (target / ".complete").write_text(archive.name + "\n", encoding="utf-8")
        fetched.append(package["name"])
        if not quiet:
            print(f"fetched {package['name']} {package['version']} into {target}")
    return fetched


def _stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def find_corpora() -> tuple[list[Corpus], list[str]]:
    """The corpora present on this machine, and a note for each one that is absent."""
    spec = _spec()
    found: list[Corpus] = []
    missing: list[str] = []
    cache = cache_dir()
    for package in spec["packages"]:
        root = cache / f"{package['name']}-{package['version']}"
        paths = tuple(root / r for r in package["roots"])
        if (root / ".complete").exists() and all(p.exists() for p in paths):
            found.append(
                Corpus(
                    package["name"],
                    package["version"],
                    root,
                    paths,
                    held_out=bool(package.get("held_out")),
                    round=int(package.get("round", 0)),
                )
            )
        else:
            missing.append(f"{package['name']} {package['version']} (not fetched)")
    stdlib = _stdlib_dir()
    paths = tuple(stdlib / p for p in spec["stdlib"] if (stdlib / p).exists())
    found.append(Corpus("cpython-stdlib", platform.python_version(), stdlib, paths))
    upstream = spec["upstream"]
    upstream_root = Path(os.environ.get(upstream["env"]) or upstream["default"])
    if (upstream_root / upstream["roots"][0]).is_dir():
        found.append(
            Corpus(
                upstream["name"],
                upstream["version"],
                upstream_root,
                tuple(upstream_root / r for r in upstream["roots"]),
            )
        )
    else:
        missing.append(f"{upstream['name']} {upstream['version']} (set ${upstream['env']})")
    repro = ROOT / spec["repro"]["path"]
    found.append(Corpus(spec["repro"]["name"], "in repository", repro, (repro,)))
    return found, missing


Outcome = Literal["true", "false", "unlabelled", "info"]
"""How one finding counts: shown and labelled true or false, shown with no label, or
``info`` (hidden by default, not scored)."""


@dataclass
class Tally:
    """Counts for one corpus or one rule."""

    true: int = 0
    false: int = 0
    unlabelled: int = 0
    info: int = 0
    """Findings at ``info`` severity (hidden by default, not counted)."""
    defects: int = 0
    """Defects labelled true (for a rule: labelled with that rule)."""
    found: int = 0
    """Of those, reported at default severity."""

    def add(self, outcome: Outcome) -> None:
        """Count one finding of that outcome."""
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def shown(self) -> int:
        """Findings shown at default severity."""
        return self.true + self.false + self.unlabelled

    @property
    def precision(self) -> float | None:
        """True / labelled shown findings; None when nothing labelled was shown."""
        labelled = self.true + self.false
        return self.true / labelled if labelled else None

    @property
    def recall(self) -> float | None:
        """Found / labelled true defects; None when none is labelled."""
        return self.found / self.defects if self.defects else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        precision, recall = self.precision, self.recall
        return {
            "shown": self.shown,
            "true": self.true,
            "false": self.false,
            "unlabelled": self.unlabelled,
            "info": self.info,
            "precision": None if precision is None else round(precision, 3),
            "defects": self.defects,
            "found": self.found,
            "recall": None if recall is None else round(recall, 3),
        }


@dataclass
class Evaluation:
    """Everything :func:`evaluate` measured."""

    corpora: list[Corpus]
    missing: list[str]
    by_corpus: dict[str, Tally] = field(default_factory=dict)
    by_rule: dict[str, Tally] = field(default_factory=dict)
    by_corpus_rule: dict[tuple[str, str], Tally] = field(default_factory=dict)
    """``(corpus, rule)`` -> counts: which rules a round's new packages drew, by rule."""
    missed: list[Label] = field(default_factory=list)
    unlabelled: list[tuple[str, str, Finding, str]] = field(default_factory=list)
    """``(corpus, relative path, finding, code)`` of shown findings nobody has labelled."""
    unlabelled_info: list[tuple[str, str, Finding, str]] = field(default_factory=list)
    """The same for ``info`` findings: they do not count in precision, but each should
    have a label, so that a rule change that shows one is judged at once."""
    false_positives: list[tuple[Label, Finding]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """``corpus:path`` of files the audit could not parse (see :data:`DIAGNOSTICS`)."""
    info_true: int = 0
    """``info`` findings labelled true: what ``--show-info`` adds that is worth reading."""
    info_false: int = 0
    """``info`` findings labelled false."""
    missed_as_info: list[Label] = field(default_factory=list)
    """The missed defects that an ``info`` finding of their rule reports (``--show-info``
    shows them); every other missed defect has no finding of its rule at any severity."""

    def pooled(self) -> dict[str, Tally]:
        """Counts summed over the third-party packages the rules were first revised
        against, the standard library with upstream Cortex and the reproductions, the
        packages added in later rounds, and every corpus."""
        groups: dict[str, Tally] = {
            "first": Tally(),
            "stdlib, upstream, repro": Tally(),
            "later rounds": Tally(),
            "all": Tally(),
        }
        for corpus in self.corpora:
            t = self.by_corpus[corpus.name]
            keys = ["all"]
            if corpus.held_out:
                keys.append("later rounds")
            elif corpus.version == "in repository" or corpus.name in {
                "cpython-stdlib",
                "upstream-cortex",
            }:
                keys.append("stdlib, upstream, repro")
            else:
                keys.append("first")
            for key in keys:
                g = groups[key]
                g.true += t.true
                g.false += t.false
                g.unlabelled += t.unlabelled
                g.info += t.info
                g.defects += t.defects
                g.found += t.found
        return groups

    @property
    def defects(self) -> int:
        """Defects labelled true in the corpora that were audited."""
        return sum(t.defects for t in self.by_corpus.values())

    @property
    def found_defects(self) -> int:
        """Of those, reported at default severity."""
        return sum(t.found for t in self.by_corpus.values())

    @property
    def recall(self) -> float | None:
        """Labelled true defects reported / labelled true defects."""
        return self.found_defects / self.defects if self.defects else None

    def any_severity(self) -> dict[str, Any]:
        """Precision and recall with the ``info`` findings shown too (``--show-info``):
        how much of what the default hides is worth reading, and how many missed defects
        no rule reports at any severity."""
        every = self.pooled()["all"]
        true = every.true + self.info_true
        labelled = true + every.false + self.info_false
        found = self.found_defects + len(self.missed_as_info)
        return {
            "true": true,
            "false": every.false + self.info_false,
            "unlabelled": every.unlabelled + len(self.unlabelled_info),
            "precision": round(true / labelled, 3) if labelled else None,
            "found": found,
            "recall": round(found / self.defects, 3) if self.defects else None,
            "hidden": [_label_key(m) for m in self.missed_as_info],
            "without_finding": len(self.missed) - len(self.missed_as_info),
        }

    def meets_targets(self) -> bool:
        """Every corpus precise enough, recall high enough, nothing unlabelled."""
        precise = all(
            t.precision is None or t.precision >= PRECISION_TARGET for t in self.by_corpus.values()
        )
        recall = self.recall
        return precise and (recall is None or recall >= RECALL_TARGET) and not self.unlabelled

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready result, labelled with the date, the versions and the interpreter."""
        recall = self.recall
        return {
            "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
            "interpreter": f"{platform.python_implementation()} {platform.python_version()}",
            "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            "precision_target": PRECISION_TARGET,
            "recall_target": RECALL_TARGET,
            "corpora": [
                {
                    "name": c.name,
                    "version": c.version,
                    "held_out": c.held_out,
                    "round": c.round,
                    **self.by_corpus[c.name].as_dict(),
                    "rules": {
                        rule: t.as_dict()
                        for (name, rule), t in sorted(self.by_corpus_rule.items())
                        if name == c.name
                    },
                }
                for c in self.corpora
            ],
            "pooled": {name: tally.as_dict() for name, tally in self.pooled().items()},
            "missing": self.missing,
            "unreadable": len(self.unreadable),
            "unlabelled_info": len(self.unlabelled_info),
            "rules": {r: t.as_dict() for r, t in sorted(self.by_rule.items())},
            "recall": {
                "defects": self.defects,
                "found": self.found_defects,
                "recall": None if recall is None else round(recall, 3),
                "missed": [_label_key(m) for m in self.missed],
            },
            "any_severity": self.any_severity(),
        }


def _label_key(label: Label) -> str:
    return f"{label.corpus}:{label.path}:{label.line} {label.rule}"


def _code_at(path: Path, line: int, cache: dict[Path, list[str]]) -> str:
    lines = cache.get(path)
    if lines is None:
        try:
            lines = cache[path] = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = cache[path] = []
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _match(
    labels: list[Label], corpus: str, path: str, finding: Finding, code: str
) -> Label | None:
    candidates = [
        label
        for label in labels
        if label.corpus == corpus and label.path == path and label.rule == finding.rule.id
    ]
    exact = [label for label in candidates if label.line == finding.line]
    if exact:
        return exact[0]
    moved = [label for label in candidates if code and label.code == code]
    return moved[0] if moved else None


DIAGNOSTICS = frozenset({"parse-error"})
"""Rules that report on the audit itself (a file it could not read), not on the code's
concurrency: listed, but scored in neither precision nor recall."""


def _outcome(finding: Finding, label: Label | None) -> Outcome:
    if finding.severity < Severity.LOW:
        return "info"  # hidden by default: not scored, whatever its label
    if label is None:
        return "unlabelled"
    return "true" if label.verdict else "false"


def evaluate(
    labels: list[Label] | None = None, corpora: Sequence[Corpus] | None = None
) -> Evaluation:
    """Audit ``corpora`` (default: every corpus present) and score them against the
    labels (default: ``tests/audit_eval/labels.json``)."""
    labels = load_labels() if labels is None else labels
    if corpora is None:
        present, missing = find_corpora()
    else:
        present, missing = list(corpora), []
    result = Evaluation(present, missing)
    sources: dict[Path, list[str]] = {}
    for corpus in present:
        tally = result.by_corpus.setdefault(corpus.name, Tally())
        audit = audit_paths(corpus.paths)
        unsuppressed = [f for f in audit.findings if not f.suppressed]
        for finding in unsuppressed:
            if finding.rule.id in DIAGNOSTICS:
                result.unreadable.append(f"{corpus.name}:{finding.path}")
                continue
            absolute = Path(finding.path).resolve()
            relative = absolute.relative_to(corpus.root.resolve()).as_posix()
            code = _code_at(absolute, finding.line, sources)
            counts = (
                tally,
                result.by_rule.setdefault(finding.rule.id, Tally()),
                result.by_corpus_rule.setdefault((corpus.name, finding.rule.id), Tally()),
            )
            label = _match(labels, corpus.name, relative, finding, code)
            outcome = _outcome(finding, label)
            if outcome == "info" and label is not None:
                if label.verdict:
                    result.info_true += 1
                else:
                    result.info_false += 1
            for count in counts:
                count.add(outcome)
            where = (corpus.name, relative, finding, code)
            if label is None:
                (result.unlabelled_info if outcome == "info" else result.unlabelled).append(where)
            elif outcome == "false":
                result.false_positives.append((label, finding))
        _score_defects(result, labels, corpus, unsuppressed, sources)
    return result


def _score_defects(
    result: Evaluation,
    labels: list[Label],
    corpus: Corpus,
    findings: list[Finding],
    sources: dict[Path, list[str]],
) -> None:
    """Count each defect labelled true in ``corpus`` as found (shown at default
    severity), hidden (an ``info`` finding reports it) or missed."""
    for label in labels:
        if label.corpus != corpus.name or not label.verdict or label.rule in DIAGNOSTICS:
            continue
        counts = (result.by_corpus[corpus.name], result.by_rule.setdefault(label.rule, Tally()))
        for count in counts:
            count.defects += 1
        if _label_shown(label, findings, corpus, sources):
            for count in counts:
                count.found += 1
            continue
        result.missed.append(label)
        if _label_shown(label, findings, corpus, sources, lowest=Severity.INFO):
            result.missed_as_info.append(label)


def _label_shown(
    label: Label,
    findings: list[Finding],
    corpus: Corpus,
    sources: dict[Path, list[str]],
    *,
    lowest: Severity = Severity.LOW,
) -> bool:
    """True when a finding of the label's rule at ``lowest`` severity or above reports
    the labelled line (or the line that now holds its code)."""
    for finding in findings:
        if finding.severity < lowest or finding.rule.id != label.rule:
            continue
        absolute = Path(finding.path).resolve()
        if absolute.relative_to(corpus.root.resolve()).as_posix() != label.path:
            continue
        if finding.line == label.line or (
            label.code and _code_at(absolute, finding.line, sources) == label.code
        ):
            return True
    return False


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _recall_columns(tally: Tally) -> str:
    return f" {tally.defects:>7} {tally.found:>5} {_percent(tally.recall):>6}"


def format_tables(result: Evaluation) -> str:
    """Precision per corpus, per rule and recall, as plain-text tables."""
    columns = "shown true false unlab info precision defects found recall"
    out = [f"{'corpus':<24} {'version':<14} {columns}"]
    for corpus in result.corpora:
        t = result.by_corpus[corpus.name]
        name = corpus.name + (f" (round {corpus.round})" if corpus.round else "")
        out.append(
            f"{name:<24} {corpus.version:<14} {t.shown:>5} {t.true:>4} {t.false:>5} "
            f"{t.unlabelled:>5} {t.info:>4} {_percent(t.precision):>9}{_recall_columns(t)}"
        )
    for group, t in result.pooled().items():
        out.append(
            f"{'= ' + group:<24} {'':<14} {t.shown:>5} {t.true:>4} {t.false:>5} "
            f"{t.unlabelled:>5} {t.info:>4} {_percent(t.precision):>9}{_recall_columns(t)}"
        )
    out.append("")
    out.append(f"{'rule':<26} {columns}")
    for rule_id, t in sorted(result.by_rule.items()):
        out.append(
            f"{rule_id:<26} {t.shown:>5} {t.true:>4} {t.false:>5} {t.unlabelled:>5} "
            f"{t.info:>4} {_percent(t.precision):>9}{_recall_columns(t)}"
        )
    out.append("")
    out.append(
        f"recall on labelled true defects: {result.found_defects}/{result.defects} = "
        f"{_percent(result.recall)}"
    )
    hidden = set(map(id, result.missed_as_info))
    for label in result.missed:
        note = " (info)" if id(label) in hidden else ""
        out.append(f"  missed: {_label_key(label)}{note}")
    every = result.any_severity()
    out.append(
        f"with the info findings shown too: recall {every['found']}/{result.defects} = "
        f"{_percent(every['recall'])}, precision {every['true']}/"
        f"{every['true'] + every['false']} = {_percent(every['precision'])}; "
        f"{every['without_finding']} missed defects have no finding of their rule"
    )
    for note in result.missing:
        out.append(f"absent: {note}")
    for corpus_name, path, finding, code in result.unlabelled + result.unlabelled_info:
        out.append(
            f"UNLABELLED {corpus_name}:{path}:{finding.line} {finding.rule.id} "
            f"[{finding.severity.label}] {finding.message} | {code}"
        )
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cortex.audit.evaluate [fetch] [--json FILE] [--check]``."""
    parser = argparse.ArgumentParser(prog="python -m cortex.audit.evaluate")
    parser.add_argument("command", nargs="?", choices=("run", "fetch"), default="run")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--false-positives", action="store_true", help="list the findings labelled false"
    )
    args = parser.parse_args(argv)
    if args.command == "fetch":
        fetch()
        return 0
    result = evaluate()
    sys.stdout.write(format_tables(result))
    if args.false_positives:
        for label, finding in result.false_positives:
            print(f"FALSE {label.corpus}:{label.path}:{finding.line} {label.rule}: {label.reason}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(result.as_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8"
        )
    return 1 if args.check and not result.meets_targets() else 0


if __name__ == "__main__":
    sys.exit(main())
