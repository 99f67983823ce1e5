"""Run the checks over files and directories, and apply inline suppressions.

A suppression is a comment on the reported line, or alone on the line just above it::

    _cache[key] = build(key)  # cortex-audit: ignore[singleton-class-cache] filled at import

It must name the pattern and give a reason. A suppression without a reason, or naming a
pattern that does not exist, suppresses nothing and is reported itself
(``bad-suppression``).
"""

from __future__ import annotations

import ast
import fnmatch
import io
import os
import re
import tokenize
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cortex.audit.model import RULES, Finding, Severity, rule
from cortex.audit.project import ProjectIndex
from cortex.audit.rules import run_checks

__all__ = [
    "DEFAULT_EXCLUDES",
    "AuditResult",
    "audit_paths",
    "audit_source",
    "discover",
]

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "_build",
    "build",
    "dist",
    "node_modules",
    "*.egg-info",
)
"""Directory names never descended into (``--no-default-excludes`` turns this off)."""

_SUPPRESSION = re.compile(r"#\s*cortex-audit:\s*ignore\[(?P<ids>[^\]]*)\](?P<reason>.*)$")


@dataclass(frozen=True)
class _Suppression:
    line: int
    """The line it covers."""
    comment_line: int
    ids: tuple[str, ...]
    reason: str


@dataclass
class AuditResult:
    """Everything one audit run found."""

    findings: list[Finding] = field(default_factory=list)
    """Every finding, suppressed ones included, sorted by file and line."""
    files: list[str] = field(default_factory=list)
    """The files audited, as displayed."""
    show_info: bool = False
    """Count ``info`` findings as active (``--show-info``); by default they are hidden."""

    @property
    def active(self) -> list[Finding]:
        """Findings not covered by a suppression or a baseline (``info`` ones only with
        :attr:`show_info`)."""
        return [
            f
            for f in self.findings
            if not f.suppressed and not f.in_baseline and (self.show_info or not f.hidden)
        ]

    @property
    def hidden(self) -> list[Finding]:
        """Unsuppressed ``info`` findings left out of :attr:`active`."""
        if self.show_info:
            return []
        return [f for f in self.findings if not f.suppressed and not f.in_baseline and f.hidden]

    @property
    def baselined(self) -> list[Finding]:
        """Unsuppressed findings a ``--baseline`` file records (already read)."""
        return [f for f in self.findings if not f.suppressed and f.in_baseline]

    @property
    def suppressed(self) -> list[Finding]:
        """Findings covered by a suppression with a reason."""
        return [f for f in self.findings if f.suppressed]

    def failing(self, threshold: Severity | None) -> list[Finding]:
        """Active findings at or above ``threshold`` (none when ``threshold`` is None)."""
        if threshold is None:
            return []
        return [f for f in self.active if f.severity >= threshold]

    def extend(self, other: AuditResult) -> None:
        """Add another run's files and findings."""
        self.files.extend(other.files)
        self.findings.extend(other.findings)
        self.findings.sort(key=Finding.sort_key)


def _suppressions(source: str) -> list[_Suppression]:
    found: list[_Suppression] = []
    if "cortex-audit" not in source:
        return found
    code_lines: set[int] = set()
    comments: list[tuple[int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments.append((token.start[0], token.string))
            elif token.type not in {
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            }:
                code_lines.update(range(token.start[0], token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        return found
    total = source.count("\n") + 1
    for line, text in comments:
        match = _SUPPRESSION.search(text)
        if match is None:
            continue
        ids = tuple(i.strip() for i in match["ids"].split(",") if i.strip())
        reason = match["reason"].strip().lstrip("-:").strip()
        covered = line
        if line not in code_lines:  # a comment on its own line covers the next code line
            covered = next((n for n in range(line + 1, total + 1) if n in code_lines), line)
        found.append(_Suppression(covered, line, ids, reason))
    return found


def is_test_module(path: str | os.PathLike[str]) -> bool:
    """True for test code: a ``test_*.py``, ``*_test.py`` or ``conftest.py`` file, or a
    module inside a ``test``/``tests`` package of the code audited (a directory with an
    ``__init__.py``, as in ``pkg/tests/helpers.py``; a directory of loose scripts that
    happens to sit under a ``tests`` folder is not a test package)."""
    file = Path(path)
    name = file.name
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    directory = file.parent
    while (directory / "__init__.py").is_file():
        if directory.name in {"test", "tests"}:
            return True
        if directory.parent == directory:
            break
        directory = directory.parent
    return False


def _parse(source: str, path: str) -> ast.Module | Finding:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences in the source
            return ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        column = getattr(exc, "offset", None) or 1
        message = f"cannot parse: {getattr(exc, 'msg', None) or exc}"
        return Finding(path, line, column, rule("parse-error"), message)


def audit_source(source: str, path: str = "<string>") -> list[Finding]:
    """Audit one module's source text on its own; nothing is executed.

    Facts from other modules (what a context manager defined elsewhere does) are unknown,
    so findings that depend on them are ``info``; :func:`audit_paths` sees the whole tree.

    Args:
        source: the Python source.
        path: how findings name the file.

    Returns:
        Every finding, sorted; suppressed and ``info`` ones are included (see
        :attr:`~cortex.audit.model.Finding.suppressed` and
        :attr:`~cortex.audit.model.Finding.hidden`).
    """
    tree = _parse(source, path)
    if isinstance(tree, Finding):
        return [tree]
    project = ProjectIndex()
    project.add_module(tree, path)
    return _audit_tree(tree, source, path, project)


def _audit_tree(tree: ast.Module, source: str, path: str, project: ProjectIndex) -> list[Finding]:
    raw: list[Finding] = []
    seen: set[tuple[int, int, str]] = set()
    for node, rule_id, message, level in run_checks(
        tree, project, test_module=is_test_module(path)
    ):
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0) + 1
        if (line, column, rule_id) in seen:
            continue
        seen.add((line, column, rule_id))
        raw.append(Finding(path, line, column, rule(rule_id), message, level=level))
    suppressions = _suppressions(source)
    findings: list[Finding] = []
    for finding in raw:
        reason = next(
            (
                s.reason
                for s in suppressions
                if s.line == finding.line and finding.rule.id in s.ids and s.reason
            ),
            None,
        )
        if reason is None:
            findings.append(finding)
        else:
            findings.append(replace(finding, suppressed_reason=reason))
    for suppression in suppressions:
        unknown = [i for i in suppression.ids if i not in RULES]
        problem = ""
        if not suppression.ids:
            problem = "names no pattern"
        elif unknown:
            problem = f"names unknown pattern(s) {', '.join(unknown)}"
        elif not suppression.reason:
            problem = "gives no reason, so it suppresses nothing"
        if problem:
            findings.append(
                Finding(
                    path,
                    suppression.comment_line,
                    1,
                    rule("bad-suppression"),
                    f"suppression {problem}",
                )
            )
    findings.sort(key=Finding.sort_key)
    return findings


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _matches(candidate: str, patterns: Sequence[str]) -> bool:
    parts = candidate.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in patterns:
        pattern = raw.rstrip("/")
        candidates = prefixes if "/" in pattern else parts
        if any(fnmatch.fnmatch(c, pattern) for c in candidates):
            return True
    return False


def discover(
    paths: Iterable[str | os.PathLike[str]],
    *,
    exclude: Sequence[str] = (),
    default_excludes: bool = True,
) -> list[Path]:
    """The ``.py`` files under ``paths`` (files given directly are always included).

    Args:
        paths: files and directories.
        exclude: glob patterns. A pattern without ``/`` matches any file or directory name
            (``demos``); one with ``/`` matches a path relative to the directory given or
            to the working directory, or any of its parents (``cortex/demos``).
        default_excludes: also skip :data:`DEFAULT_EXCLUDES` below each directory given
            (a directory given explicitly is scanned even if it is called ``build``).

    Raises:
        FileNotFoundError: a path does not exist.
    """
    defaults = DEFAULT_EXCLUDES if default_excludes else ()
    files: list[Path] = []
    for raw in paths:
        root = Path(raw)
        if root.is_file():
            files.append(root)
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"no such file or directory: {root}")
        for candidate in sorted(root.rglob("*.py")):
            relative = candidate.relative_to(root).as_posix()
            if _matches(relative, [*exclude, *defaults]) or _matches(_display(candidate), exclude):
                continue
            files.append(candidate)
    unique: dict[Path, None] = {}
    for file in files:
        unique.setdefault(file, None)
    return list(unique)


def audit_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    exclude: Sequence[str] = (),
    default_excludes: bool = True,
) -> AuditResult:
    """Audit every ``.py`` file under ``paths`` (see :func:`discover` for ``exclude``).

    Raises:
        FileNotFoundError: a path does not exist.
    """
    result = AuditResult()
    parsed: list[tuple[str, str, ast.Module]] = []
    project = ProjectIndex()
    for file in discover(paths, exclude=exclude, default_excludes=default_excludes):
        display = _display(file)
        result.files.append(display)
        try:
            # tokenize.open honours the file's declared encoding (PEP 263) and its BOM.
            with tokenize.open(file) as handle:
                source = handle.read()
        except (OSError, UnicodeDecodeError, SyntaxError) as exc:
            result.findings.append(
                Finding(display, 1, 1, rule("parse-error"), f"cannot read: {exc}")
            )
            continue
        tree = _parse(source, display)
        if isinstance(tree, Finding):
            result.findings.append(tree)
            continue
        project.add_module(tree, display)
        parsed.append((display, source, tree))
    for display, source, tree in parsed:  # every module first: context managers cross files
        result.findings.extend(_audit_tree(tree, source, display, project))
    result.findings.sort(key=Finding.sort_key)
    return result
