#!/usr/bin/env python3
"""Run upstream Cortex's own tests against this project's ``cortex`` package.

Nothing from upstream is committed here: the test files are copied from an upstream
checkout into a temporary directory at run time and run there, with this repository's
``cortex`` first on ``sys.path``, a private ``HOME`` and no provider variables (no test
may reach a real model). Usage::

    python tools/upstream_api_check.py --upstream ../shared/reference/upstream-cortex-0e4aeb386
    python tools/upstream_api_check.py --upstream DIR --tests 'test_llm_router.py' --json out.json

``--upstream`` is a checkout of upstream Cortex (at commit 0e4aeb386 for the figures in
``docs/guide/differences.md``); its ``tests/`` directory is used. The report gives the
pass count and every test that did not pass; ``--min-pass N`` makes the exit status 1
when fewer than ``N`` pass. Each remaining difference is meant to be listed, with the
reason, in the guide's "Differences from upstream" page.

Run it inside the project's environment (``.venv/<tag>/bin/python``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a test run must not see: the variables that configure real providers.
_PROVIDER_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "MOONSHOT_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "OLLAMA_HOST",
    "OLLAMA_MODEL",
)


@dataclass
class Report:
    """Outcome of one run of upstream's tests."""

    upstream: str
    tests_dir: str
    collected: int = 0
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0

    def summary(self) -> str:
        """One line: passed of collected."""
        return (
            f"{self.passed}/{self.collected} upstream tests pass "
            f"({len(self.failed)} failed, {len(self.errors)} errors, {self.skipped} skipped)"
        )


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROVIDER_VARIABLES}
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _read_junit(path: Path, report: Report) -> None:
    root = ET.parse(path).getroot()  # noqa: S314 - pytest's own report
    for case in root.iter("testcase"):
        report.collected += 1
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcomes = {child.tag for child in case}
        if "failure" in outcomes:
            report.failed.append(name)
        elif "error" in outcomes:
            report.errors.append(name)
        elif "skipped" in outcomes:
            report.skipped += 1
        else:
            report.passed += 1


def run(upstream: Path, patterns: list[str], timeout: float) -> Report:
    """Copy upstream's tests matching ``patterns`` to a temporary directory and run them.

    Raises:
        FileNotFoundError: ``upstream`` has no ``tests/`` directory, or nothing matched.
    """
    tests = upstream / "tests"
    if not tests.is_dir():
        raise FileNotFoundError(f"no tests/ directory in the upstream checkout {upstream}")
    report = Report(str(upstream), str(tests))
    with tempfile.TemporaryDirectory(prefix="cortex-upstream-") as scratch:
        work = Path(scratch)
        copied = work / "upstream_tests"
        copied.mkdir()
        chosen = sorted({p for pattern in patterns for p in tests.glob(pattern) if p.is_file()})
        if not chosen:
            raise FileNotFoundError(f"no test file in {tests} matches {patterns}")
        for path in chosen:
            target = copied / path.relative_to(tests)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        for helper in ("conftest.py", "__init__.py"):
            if (tests / helper).is_file():
                shutil.copy2(tests / helper, copied / helper)
        junit = work / "junit.xml"
        home = work / "home"
        home.mkdir()
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(copied),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:run-parallel",
            f"--rootdir={work}",
            "-o",
            "addopts=",
            "--import-mode=importlib",  # upstream has test files of one name in two dirs
            "--continue-on-collection-errors",  # a missing name fails its file, not the run
            f"--junitxml={junit}",
        ]
        subprocess.run(command, cwd=work, env=_environment(home), timeout=timeout, check=False)
        if junit.exists():
            _read_junit(junit, report)
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module documentation."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", type=Path, required=True, help="upstream checkout")
    parser.add_argument(
        "--tests", action="append", default=None, help="glob under tests/ (repeatable)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    parser.add_argument("--min-pass", type=int, default=0, help="fail below this many passes")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the run")
    args = parser.parse_args(argv)
    try:
        report = run(args.upstream.resolve(), args.tests or ["**/test_*.py"], args.timeout)
    except FileNotFoundError as exc:
        print(f"upstream_api_check: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    for name in report.failed + report.errors:
        print(f"  not passing: {name}")
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    return 0 if report.passed >= args.min_pass else 1


if __name__ == "__main__":
    sys.exit(main())
