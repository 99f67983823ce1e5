"""What the audit reports: severities, the rules it knows and the findings it makes.

Every rule has a stable id (the one inline suppressions name), a category (a row of the
summary table), a severity and the guide page that explains the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

__all__ = ["RULES", "Finding", "Rule", "Severity", "rule"]


class Severity(IntEnum):
    """How bad a finding is; ``--fail-on`` compares against this order."""

    INFO = 0
    """The pattern is there but the audit has no evidence that it matters here (a path the
    caller chooses, a class never shown to be shared between threads). Hidden unless the
    report is asked for it (``--show-info``); never fails a run."""
    LOW = 1
    """A cost or a risk under load, not a wrong result (e.g. a connection per call)."""
    MEDIUM = 2
    """Wrong under some interleavings, or a problem with the audit itself."""
    HIGH = 3
    """Loses updates, duplicates objects or leaves torn files."""
    CRITICAL = 4
    """Corrupt results or a crash (a SQLite connection shared between threads)."""

    @property
    def label(self) -> str:
        """Lower-case name, as printed and as accepted by ``--fail-on``."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """The severity called ``text`` (case-insensitive).

        Raises:
            ValueError: ``text`` names no severity.
        """
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}: expected one of {names}") from None


@dataclass(frozen=True)
class Rule:
    """One pattern the audit looks for."""

    id: str
    """Stable identifier, e.g. ``singleton-global``; suppressions name it."""
    category: str
    """Summary-table row, e.g. ``Singletons``."""
    severity: Severity
    title: str
    """What was found, in one line."""
    fix: str
    """What to do instead, in one line."""
    guide: str
    """Slug of the guide page that explains the fix, e.g. ``singletons``."""

    @property
    def guide_path(self) -> str:
        """The guide page's source path, e.g. ``docs/guide/singletons.md``."""
        return f"docs/guide/{self.guide}.md"


_RULE_LIST = (
    Rule(
        "singleton-global",
        "Singletons",
        Severity.HIGH,
        "module global checked then assigned without a lock",
        "create it under a lock with double-checked locking (LazySingleton)",
        "singletons",
    ),
    Rule(
        "singleton-function-attr",
        "Singletons",
        Severity.HIGH,
        "function attribute used as a lazy singleton without a lock",
        "use a module-level LazySingleton instead of a function attribute",
        "singletons",
    ),
    Rule(
        "singleton-class-cache",
        "Singletons",
        Severity.HIGH,
        "class-level instance (or dictionary of instances) checked then created without a lock",
        "create it under a lock and check again inside it (or use LazySingleton)",
        "singletons",
    ),
    Rule(
        "singleton-instance-attr",
        "Singletons",
        Severity.INFO,
        "attribute created on first use (check-then-act) in code used from threads",
        "create it in __init__, or check again under a lock before creating it",
        "singletons",
    ),
    Rule(
        "sqlite-connect-per-call",
        "SQLite",
        Severity.LOW,
        "sqlite3.connect() on every call of a method or loop iteration",
        "open connections once (a pool or one per thread) and reuse them",
        "sqlite",
    ),
    Rule(
        "sqlite-shared-connection",
        "SQLite",
        Severity.CRITICAL,
        "connection or cursor stored on a shared object and used without a lock",
        "check a connection out of a pool for exclusive use, or hold a lock for every use",
        "sqlite",
    ),
    Rule(
        "sqlite-use-after-return",
        "SQLite",
        Severity.CRITICAL,
        "pooled connection or its cursor used after its with block gave it back",
        "finish every use, commit included, inside the with block",
        "sqlite",
    ),
    Rule(
        "sqlite-missing-commit",
        "SQLite",
        Severity.HIGH,
        "INSERT/UPDATE/DELETE with no commit on some path",
        "commit on every path (use 'with conn:' as the transaction) or roll back",
        "sqlite",
    ),
    Rule(
        "file-in-place-write",
        "Files",
        Severity.HIGH,
        "file truncated and rewritten in place (a reader or a crash sees a torn file)",
        "write a temporary file and os.replace() it (cortex.utils.atomic_file)",
        "file-io",
    ),
    Rule(
        "file-prune-race",
        "Files",
        Severity.MEDIUM,
        "entries of a directory listed, then deleted without tolerating one already gone",
        "delete with unlink(missing_ok=True), or catch FileNotFoundError for each entry",
        "file-io",
    ),
    Rule(
        "file-per-instance-lock",
        "Files",
        Severity.HIGH,
        "per-instance lock guards a file that every instance shares",
        "guard the file with a lock per path (module level) or a cross-process file lock",
        "file-io",
    ),
    Rule(
        "shared-rmw",
        "Shared state",
        Severity.HIGH,
        "read-modify-write of shared state outside a lock",
        "hold the object's lock around the whole read-modify-write",
        "shared-state",
    ),
    Rule(
        "shared-reset-unlocked",
        "Shared state",
        Severity.HIGH,
        "attribute assigned without the lock that guards its read-modify-writes elsewhere",
        "take the same lock around the assignment (or swap in a new object under it)",
        "shared-state",
    ),
    Rule(
        "split-lock-check-then-act",
        "Shared state",
        Severity.HIGH,
        "cache checked under one lock and filled under another",
        "check and fill under one lock, or make misses single-flight (SingleFlight)",
        "shared-state",
    ),
    Rule(
        "shared-iterator",
        "Shared state",
        Severity.MEDIUM,
        "one iterator advanced by a thread and shared with other callers",
        "give the thread its own iterator, or advance it under a lock",
        "spinner",
    ),
    Rule(
        "asyncio-loop-bound",
        "Asyncio",
        Severity.HIGH,
        "asyncio primitive created in __init__ binds to the first event loop that uses it",
        "create asyncio primitives inside the coroutine that runs the batch",
        "parallel-llm",
    ),
    Rule(
        "fallback-recursion",
        "Fallback",
        Severity.MEDIUM,
        "fallback calls itself again with no record of what was already tried",
        "pass the set of tried alternatives (or loop over them) so the fallback ends",
        "parallel-llm",
    ),
    Rule(
        "bad-suppression",
        "Suppressions",
        Severity.MEDIUM,
        "suppression comment without a reason or naming an unknown pattern",
        "write '# cortex-audit: ignore[pattern-id] why this is safe'",
        "audit",
    ),
    Rule(
        "parse-error",
        "Audit",
        Severity.MEDIUM,
        "file could not be parsed, so it was not audited",
        "make the file valid Python for the interpreter running the audit",
        "audit",
    ),
)

RULES: dict[str, Rule] = {r.id: r for r in _RULE_LIST}
"""Every rule, keyed by id, in the order the report lists them."""


def rule(rule_id: str) -> Rule:
    """The rule called ``rule_id``.

    Raises:
        KeyError: no such rule.
    """
    return RULES[rule_id]


@dataclass(frozen=True)
class Finding:
    """One place where a pattern was found."""

    path: str
    """The file, as a POSIX path relative to the working directory when it is under it."""
    line: int
    """1-based line."""
    column: int
    """1-based column."""
    rule: Rule
    message: str
    """What was found here, naming the variable, attribute or call."""
    suppressed_reason: str | None = None
    """The reason given in a ``# cortex-audit: ignore[...]`` comment, if suppressed."""
    level: Severity | None = None
    """This finding's own severity when the rule lowered it for lack of evidence (usually
    :attr:`Severity.INFO`); None means the rule's severity."""
    in_baseline: bool = False
    """True when a ``--baseline`` file records it: already read, left out of the report."""

    @property
    def suppressed(self) -> bool:
        """True when an inline suppression with a reason covers this finding."""
        return self.suppressed_reason is not None

    @property
    def severity(self) -> Severity:
        """The severity of this finding (:attr:`level` when set, else the rule's)."""
        return self.rule.severity if self.level is None else self.level

    @property
    def hidden(self) -> bool:
        """True for ``info`` findings, which the report leaves out by default."""
        return self.severity < Severity.LOW

    def with_baseline(self) -> Finding:
        """This finding, marked as recorded in the baseline."""
        return replace(self, in_baseline=True)

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order by file, line, column, rule."""
        return (self.path, self.line, self.column, self.rule.id)
