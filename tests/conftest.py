"""Shared fixtures and options.

* every test starts with fresh singletons, and the session with no ``CORTEX_*`` variables and
  none of the provider variables the LLM router reads (a developer's ``ANTHROPIC_API_KEY``
  must neither change a result nor make a paid API call);
* a test that shows an unsafe twin failing runs in one thread under pytest-run-parallel;
* ``pytest --preempt PROBABILITY`` (the :mod:`cortex.testing.pytest_plugin`, installed with
  the package) forces thread switches between bytecodes; ``make stress`` runs the stress
  tests so, with several seeds;
* the reliability ledger (:mod:`cortex.demos.ledger`) is printed at the end and, with
  ``--reliability-report PATH`` (``make test`` passes ``_build/reliability.json``), written
  as JSON for the guide's reliability page.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from cortex.demos.ledger import LEDGER
from cortex.llm_router import PROVIDER_ENVIRONMENT
from cortex.runtime import SETTINGS, runtime_facts
from cortex.utils.thread_utils import reset_singletons

# Settings come from the environment: a developer's CORTEX_* must not leak into the tests.
for _spec in SETTINGS:
    os.environ.pop(_spec.env_var, None)
# Provider keys and endpoints: a test that wants a provider passes ``environ=`` or sets one
# with monkeypatch, pointing at a loopback server it started.
for _name in PROVIDER_ENVIRONMENT:
    os.environ.pop(_name, None)

# Every module defaults to files under ~/.cortex: the whole session (and the subprocesses and
# notebook kernels it starts) gets a private, empty home instead of the developer's. Set once
# here rather than per test, so that tests stay runnable under pytest-run-parallel.
# Code the audit reads, not tests: its samples include test-shaped modules on purpose.
collect_ignore = ["audit_corpus", "audit_eval"]

_REAL_HOME = os.environ.get("HOME")
_SESSION_HOME = tempfile.mkdtemp(prefix="cortex-test-home-")
os.environ["HOME"] = _SESSION_HOME
# Every store's default database goes to one private directory, never to ~/.cortex or
# /var/lib/cortex (tests may run as root); removed with the home directory.
os.environ["CORTEX_DATA_DIR"] = os.path.join(_SESSION_HOME, "data")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cortex")
    group.addoption(
        "--reliability-report",
        default=None,
        help="write the reliability ledger as JSON here (make test: _build/reliability.json)",
    )


# A test that shows an unsafe twin failing carries @pytest.mark.twin (registered in
# pyproject.toml). N copies of it at once under pytest-run-parallel would change the
# interleavings it forces or explores, so such a test runs in one thread there (it still
# runs in every mode).
_TWIN_REASON = "shows an unsafe twin failing; parallel copies would change its interleavings"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("twin") and item.get_closest_marker("thread_unsafe") is None:
            item.add_marker(pytest.mark.thread_unsafe(reason=_TWIN_REASON))
        if item.get_closest_marker("twin"):
            # it chooses its own interleavings (exploration, or its own preemption block)
            item.add_marker(pytest.mark.no_preempt)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _REAL_HOME is not None:
        os.environ["HOME"] = _REAL_HOME
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    snapshot = LEDGER.snapshot()
    if snapshot["total"]["threads"] == 0 and len(snapshot) == 1:
        return
    facts = runtime_facts()
    interval = sys.getswitchinterval()
    terminalreporter.section("reliability ledger")
    terminalreporter.write_line(f"{facts.banner()}; switch interval {interval:g} s")
    terminalreporter.write_line(LEDGER.table())
    report = terminalreporter.config.getoption("--reliability-report")
    if report is None:  # only the full run of `make test` replaces the guide's report
        return
    LEDGER.write_json(
        report,
        {
            "runtime": facts.as_dict(),
            "switch_interval_s": interval,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )


@pytest.fixture
def forced_seed(request: pytest.FixtureRequest) -> int:
    """The seed for a test's own forced-interleaving block: the run's ``--preempt-seed``.

    ``make stress`` runs the suite once per seed, so such a test is checked at each of them;
    without ``--preempt`` it is 1.
    """
    seed = request.config.getoption("preempt_seed", None)
    return 1 if seed is None else int(seed)


@pytest.fixture(autouse=True)
def _fresh_singletons() -> Iterator[None]:
    reset_singletons()
    yield
    reset_singletons()
