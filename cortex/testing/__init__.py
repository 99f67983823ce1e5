"""Tools for finding races in your own test suite.

:func:`preemption` forces thread hand-overs between the bytecodes of chosen modules, so a
read-modify-write that a free-threaded build would split is split on any interpreter; the
pytest plugin (``pytest --preempt PROBABILITY``) applies it to every test.
"""

from cortex.testing.preempt import (
    DEFAULT_PROBABILITY,
    NEVER_PREEMPTED,
    PreemptionRun,
    SwitchSite,
    TargetMatcher,
    active_run,
    preemption,
)

__all__ = [
    "DEFAULT_PROBABILITY",
    "NEVER_PREEMPTED",
    "PreemptionRun",
    "SwitchSite",
    "TargetMatcher",
    "active_run",
    "preemption",
]
