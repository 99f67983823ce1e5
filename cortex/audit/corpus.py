"""Measure the audit's precision and recall on a corpus of labelled samples.

Each sample is one ``.py`` file. An unsafe sample names what it contains in header
comments, one pattern per line (a pattern that occurs twice is listed twice)::

    # expect: singleton-global
    # expect: shared-rmw

A sample without ``# expect:`` lines is safe: every finding in it is a false positive.

Scoring counts findings per (file, pattern): for each pair, the true positives are
``min(expected, found)``, the false negatives ``expected - found`` when positive, and the
false positives ``found - expected`` when positive. Suppressed findings do not count.

``python -m cortex.audit.corpus DIR`` prints the scores and exits 1 if a target is missed;
with ``--strict`` it exits 1 unless every sample is scored perfectly (every label found,
nothing else).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cortex.audit.engine import audit_paths
from cortex.audit.model import RULES

__all__ = [
    "PRECISION_TARGET",
    "RECALL_TARGET",
    "CorpusScore",
    "SampleScore",
    "evaluate_corpus",
    "expected_patterns",
    "main",
]

_EXPECT = re.compile(r"^#\s*expect:\s*([\w-]+)\s*$", re.MULTILINE)

RECALL_TARGET = 0.95
"""The issue's target for recall."""
PRECISION_TARGET = 0.9
"""The issue's target for precision."""


def expected_patterns(source: str) -> dict[str, int]:
    """The ``# expect:`` labels of one sample: pattern id -> occurrences.

    Raises:
        ValueError: a label names no known pattern.
    """
    labels = Counter(_EXPECT.findall(source))
    unknown = sorted(set(labels) - set(RULES))
    if unknown:
        raise ValueError(f"unknown pattern(s) in # expect: {', '.join(unknown)}")
    return dict(labels)


@dataclass(frozen=True)
class SampleScore:
    """How the audit did on one sample."""

    path: str
    expected: dict[str, int]
    """Pattern id -> how many ``# expect:`` labels name it."""
    found: dict[str, int]
    """Pattern id -> how many active findings the audit made."""

    def _counts(self) -> tuple[Counter[str], Counter[str]]:
        return Counter(self.expected), Counter(self.found)

    @property
    def true_positives(self) -> int:
        """Findings that match an expected pattern."""
        expected, found = self._counts()
        return sum((expected & found).values())

    @property
    def false_negatives(self) -> int:
        """Expected patterns not found."""
        expected, found = self._counts()
        return sum((expected - found).values())

    @property
    def false_positives(self) -> int:
        """Findings of patterns not expected (or more of them than expected)."""
        expected, found = self._counts()
        return sum((found - expected).values())


@dataclass(frozen=True)
class CorpusScore:
    """Scores over a whole corpus."""

    samples: list[SampleScore] = field(default_factory=list)

    @property
    def unsafe_samples(self) -> int:
        """Samples with at least one ``# expect:`` label."""
        return sum(1 for s in self.samples if s.expected)

    @property
    def safe_samples(self) -> int:
        """Samples without labels."""
        return sum(1 for s in self.samples if not s.expected)

    @property
    def true_positives(self) -> int:
        """Sum over samples."""
        return sum(s.true_positives for s in self.samples)

    @property
    def false_positives(self) -> int:
        """Sum over samples."""
        return sum(s.false_positives for s in self.samples)

    @property
    def false_negatives(self) -> int:
        """Sum over samples."""
        return sum(s.false_negatives for s in self.samples)

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing was found."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1.0 when nothing was expected."""
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    def mistakes(self) -> list[str]:
        """One line per sample that was not scored perfectly."""
        lines = []
        for sample in self.samples:
            expected, found = Counter(sample.expected), Counter(sample.found)
            missed = expected - found
            extra = found - expected
            if missed or extra:
                lines.append(
                    f"{sample.path}: missed {dict(missed) or '-'}, unexpected {dict(extra) or '-'}"
                )
        return lines

    def summary(self) -> str:
        """Counts, precision and recall in a few lines (deterministic)."""
        return (
            f"samples: {len(self.samples)} ({self.unsafe_samples} unsafe, "
            f"{self.safe_samples} safe)\n"
            f"expected findings: {self.true_positives + self.false_negatives}\n"
            f"true positives: {self.true_positives}, false positives: "
            f"{self.false_positives}, false negatives: {self.false_negatives}\n"
            f"precision: {self.precision:.3f}\nrecall: {self.recall:.3f}\n"
        )


def evaluate_corpus(directory: str | Path) -> CorpusScore:
    """Audit every sample under ``directory`` and score it against its labels.

    Each sample is audited on its own, as its own project: a context manager defined in
    one sample says nothing about another. Findings at ``info`` severity are hidden by
    default and do not count.
    """
    root = Path(directory)
    samples = []
    for file in sorted(root.rglob("*.py")):
        result = audit_paths([file], default_excludes=True)
        found: Counter[str] = Counter(f.rule.id for f in result.active)
        display = result.files[0] if result.files else file.as_posix()
        expected = expected_patterns(file.read_text(encoding="utf-8"))
        samples.append(SampleScore(display, dict(expected), dict(found)))
    return CorpusScore(samples)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cortex.audit.corpus [--strict] DIR``: print the scores.

    Returns 1 when recall or precision misses its target (with ``--strict``: when any
    sample is not scored perfectly), 2 for a usage error, else 0.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    strict = "--strict" in args
    paths = [a for a in args if a != "--strict"]
    if len(paths) != 1 or not Path(paths[0]).is_dir():
        print("usage: python -m cortex.audit.corpus [--strict] DIR", file=sys.stderr)
        return 2
    score = evaluate_corpus(paths[0])
    sys.stdout.write(score.summary())
    for line in score.mistakes():
        print(f"  {line}")
    ok = score.recall >= RECALL_TARGET and score.precision >= PRECISION_TARGET
    if strict:
        ok = ok and not score.mistakes()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
