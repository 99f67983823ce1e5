"""One forced-interleaving run catches every unsafe twin; the same run leaves every fix exact.

The models are the stress size of :mod:`cortex.demos.detection` (several threads, many
operations each), the size a forced-interleaving run needs: the small two-thread models are
for exploration (each twin's own test module explores them). Each test opens its own
:func:`~cortex.testing.preempt.preemption` block at the default probability with the run's
``--preempt-seed`` (``make stress`` runs the suite at several seeds), so it checks detection
in the *first* run, as ``benchmarks/preempt_bench.py`` measures it for more seeds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cortex.demos.detection import DetectionTwin, detection_twins
from cortex.demos.interleavings import forced_run
from cortex.utils.db_pool import close_all_pools

NAMES = [twin.name for twin in detection_twins(Path("unused"))]
FIXED = [twin.name for twin in detection_twins(Path("unused")) if twin.fixed_stress is not None]

FORCED = pytest.mark.thread_unsafe(
    reason="opens its own preemption block: one per process at a time"
)


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[dict[str, DetectionTwin]]:
    yield {twin.name: twin for twin in detection_twins(tmp_path)}
    close_all_pools()


@pytest.mark.twin
@pytest.mark.parametrize("name", NAMES)
def test_one_forced_run_catches_the_unsafe_twin(
    name: str, twins: dict[str, DetectionTwin], forced_seed: int
) -> None:
    twin = twins[name]
    error = forced_run(twin.unsafe_stress, targets=twin.targets, seed=forced_seed)
    assert error, f"{name} held through one forced run at seed {forced_seed}"


@FORCED
@pytest.mark.stress
@pytest.mark.parametrize("name", FIXED)
def test_the_fix_holds_under_the_same_forced_run(
    name: str, twins: dict[str, DetectionTwin], forced_seed: int
) -> None:
    twin = twins[name]
    assert twin.fixed_stress is not None
    error = forced_run(twin.fixed_stress, targets=twin.targets, seed=forced_seed)
    assert not error, error
