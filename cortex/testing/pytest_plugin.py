"""pytest plugin: every test's call under :func:`~cortex.testing.preempt.preemption`.

Registered through the ``pytest11`` entry point, so it is there wherever the package is
installed, and does nothing unless asked::

    pytest --preempt 0.3 --preempt-seed 1 --preempt-target mypackage

``--preempt PROBABILITY``
    the chance of a forced thread hand-over at each instruction of target code (off when
    absent).
``--preempt-seed N``
    the seed of every test's block (each test starts its per-thread generators afresh, so
    one test replays alone with the same seed); drawn and printed when absent.
``--preempt-target PATTERN``
    repeatable; a module name (covers its submodules) or a glob. Default: the packages and
    top-level modules found in the rootdir (and ``src/``), tests and conftest files left out.

The header names seed, probability and targets; a failing test's report gets a
``preemption`` section with them, each thread's last hand-over sites and the command that
replays it. A test marked ``no_preempt`` runs without (a test that opens its own
:func:`~cortex.testing.preempt.preemption` block does not need the marker: the inner
block takes over meanwhile).
"""

from __future__ import annotations

import secrets
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from cortex.testing.preempt import preemption

_RUN_KEY = pytest.StashKey[Any]()
_SKIP_DIRS = {"tests", "test", "testing", "docs", "build", "dist", "site-packages"}
_SKIP_FILES = {"conftest", "setup", "noxfile", "tasks", "__main__"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("preempt", "forced thread hand-overs between bytecodes")
    group.addoption(
        "--preempt",
        dest="preempt",
        type=float,
        default=None,
        metavar="PROBABILITY",
        help="force a thread hand-over at each instruction of target code with this chance",
    )
    group.addoption(
        "--preempt-seed",
        dest="preempt_seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the per-thread decisions (default: drawn, printed in the header)",
    )
    group.addoption(
        "--preempt-target",
        dest="preempt_target",
        action="append",
        default=[],
        metavar="PATTERN",
        help="module name or glob whose code is preempted (repeatable; "
        "default: the packages in the rootdir)",
    )


def default_targets(rootdir: Path) -> list[str]:
    """Top-level packages and modules of ``rootdir`` (and ``rootdir/src``), tests left out."""
    found: list[str] = []
    for base in (rootdir, rootdir / "src"):
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            name = entry.stem if entry.suffix == ".py" else entry.name
            if not name.isidentifier() or name in _SKIP_DIRS or name in _SKIP_FILES:
                continue
            if name.startswith("test_") or name.endswith("_test"):
                continue
            if (entry.is_dir() and (entry / "__init__.py").is_file()) or (
                entry.is_file() and entry.suffix == ".py"
            ):
                found.append(name)
    return found


class _Settings:
    def __init__(self, probability: float, seed: int, targets: list[str]) -> None:
        self.probability = probability
        self.seed = seed
        self.targets = targets
        self.tests = 0
        self.switches = 0

    def describe(self) -> str:
        return (
            f"preempt: probability={self.probability:g} seed={self.seed} "
            f"targets={','.join(self.targets) or '(none found: use --preempt-target)'}"
        )

    def replay(self, nodeid: str) -> str:
        targets = " ".join(f"--preempt-target '{t}'" for t in self.targets)
        return (
            f"replay: pytest --preempt {self.probability:g} --preempt-seed {self.seed} "
            f"{targets} '{nodeid}'"
        )


_SETTINGS_KEY = pytest.StashKey[_Settings]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_preempt: run this test without forced thread hand-overs (--preempt)"
    )
    probability = config.getoption("preempt")
    if probability is None:
        return
    if not 0.0 <= probability <= 1.0:
        raise pytest.UsageError(f"--preempt takes a probability in [0, 1], not {probability}")
    seed = config.getoption("preempt_seed")
    if seed is None:
        seed = secrets.randbelow(2**32)
        # written back, so a test that opens its own block can use the run's seed
        config.option.preempt_seed = seed
    targets = list(config.getoption("preempt_target")) or default_targets(config.rootpath)
    config.stash[_SETTINGS_KEY] = _Settings(probability, seed, targets)


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(_SETTINGS_KEY, None)
    return settings.describe() if settings else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    settings = item.config.stash.get(_SETTINGS_KEY, None)
    if settings is None or not settings.targets or item.get_closest_marker("no_preempt"):
        return (yield)
    with preemption(settings.probability, settings.seed, settings.targets) as run:
        item.stash[_RUN_KEY] = run
        try:
            return (yield)
        finally:
            settings.tests += 1
            settings.switches += run.switches


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    run = item.stash.get(_RUN_KEY, None)
    settings = item.config.stash.get(_SETTINGS_KEY, None)
    if call.when == "call" and report.failed and run is not None and settings is not None:
        report.sections.append(("preemption", f"{run.report()}\n{settings.replay(item.nodeid)}"))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    settings = config.stash.get(_SETTINGS_KEY, None)
    if settings is None:
        return
    terminalreporter.write_line(
        f"{settings.describe()}: {settings.switches} forced switches in {settings.tests} tests"
    )
