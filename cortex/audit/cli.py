"""The audit's command line: ``python -m cortex.audit PATH...`` (and ``cortex audit``).

Exit status, for CI:

* ``0`` -- no active finding at or above ``--fail-on`` (default ``low``: any finding shown;
  ``info`` findings are hidden unless ``--show-info`` is given, and never fail a run unless
  ``--fail-on info`` is given as well);
* ``1`` -- at least one such finding;
* ``2`` -- usage error (unknown option, a path that does not exist, a ``--baseline`` file
  that cannot be read or is not a baseline).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cortex.audit import baseline
from cortex.audit.engine import DEFAULT_EXCLUDES, AuditResult, audit_paths
from cortex.audit.model import RULES, Severity
from cortex.audit.report import format_json, format_sarif, format_text

__all__ = [
    "EXIT_CLEAN",
    "EXIT_FINDINGS",
    "EXIT_USAGE",
    "add_arguments",
    "build_parser",
    "main",
    "run",
]

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the audit's arguments to ``parser`` (used by ``cortex audit`` too)."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories")
    parser.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="report format (default: text)",
    )
    parser.add_argument(
        "--fail-on",
        default="low",
        choices=[s.label for s in Severity] + ["never"],
        help="exit 1 when a finding has at least this severity (default: low, i.e. any)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip matching files or directories; repeatable (e.g. --exclude cortex/demos)",
    )
    parser.add_argument(
        "--no-default-excludes",
        action="store_true",
        help=f"also scan {', '.join(DEFAULT_EXCLUDES[:4])}, ... directories",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    parser.add_argument(
        "--show-suppressed", action="store_true", help="list suppressed findings (text format)"
    )
    parser.add_argument(
        "--show-info",
        action="store_true",
        help="also report info findings: the pattern is there, the evidence that it matters "
        "is not (hidden by default)",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="leave out the findings FILE records (written by --write-baseline): report "
        "only new ones",
    )
    parser.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="record every unsuppressed finding (info included) in FILE and exit 0",
    )
    parser.add_argument("--list-rules", action="store_true", help="print every pattern id and exit")


def _list_rules() -> str:
    lines = [f"{'id':<26} {'severity':<9} {'guide':<22} title"]
    for rule in RULES.values():
        lines.append(f"{rule.id:<26} {rule.severity.label:<9} {rule.guide_path:<22} {rule.title}")
    return "\n".join(lines) + "\n"


def _baseline_step(args: argparse.Namespace, result: AuditResult) -> int | None:
    """Write the baseline (the run ends: its exit status) or apply it (None: go on)."""
    if args.write_baseline:
        unsuppressed = [f for f in result.findings if not f.suppressed]
        try:
            count = baseline.write(args.write_baseline, unsuppressed)
        except OSError as exc:
            print(f"cortex-audit: {args.write_baseline}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        print(f"cortex-audit: {count} finding(s) recorded in {args.write_baseline}")
        return EXIT_CLEAN
    if args.baseline:
        try:
            known = baseline.load(args.baseline)
        except baseline.BaselineError as exc:
            print(f"cortex-audit: {exc}", file=sys.stderr)
            return EXIT_USAGE
        result.findings = baseline.mark(result.findings, known)
    return None


def run(args: argparse.Namespace) -> int:
    """Run the audit for parsed arguments; return the exit status."""
    if args.list_rules:
        sys.stdout.write(_list_rules())
        return EXIT_CLEAN
    if not args.paths:
        print("cortex-audit: give at least one PATH", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = audit_paths(
            args.paths, exclude=args.exclude, default_excludes=not args.no_default_excludes
        )
    except FileNotFoundError as exc:
        print(f"cortex-audit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result.show_info = args.show_info or args.fail_on == "info"
    ended = _baseline_step(args, result)
    if ended is not None:
        return ended
    if args.format == "json":
        text = format_json(result)
    elif args.format == "sarif":
        text = format_sarif(result)
    else:
        text = format_text(result, show_suppressed=args.show_suppressed)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    threshold = None if args.fail_on == "never" else Severity.parse(args.fail_on)
    return EXIT_FINDINGS if result.failing(threshold) else EXIT_CLEAN


def build_parser() -> argparse.ArgumentParser:
    """The standalone parser of ``python -m cortex.audit``."""
    parser = argparse.ArgumentParser(
        prog="python -m cortex.audit",
        description="Find free-threading races in Python source (static; runs nothing).",
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run; usage errors return 2 instead of raising ``SystemExit``."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_CLEAN
    return run(args)
