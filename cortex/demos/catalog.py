"""The race catalogue: every race this project fixes, where, and what proves it.

The guide's audit table is generated from :data:`RACES`, and ``tests/test_catalog.py``
checks every entry against the code (the module, the unsafe twin and each test exist; the
notebook and the guide page exist), so the table cannot drift from the repository.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RACES", "RaceEntry"]


@dataclass(frozen=True)
class RaceEntry:
    """One race: the module it was found in, the fix, and the evidence."""

    module: str
    """Dotted name of the fixed module, e.g. ``cortex.hardware_detection``."""
    race: str
    """What goes wrong without the GIL."""
    severity: str
    """``critical``, ``high`` or ``medium``, as the audit ranked it."""
    fix: str
    """The mechanism that fixes it."""
    twin: str
    """Dotted name of the unsafe twin that the tests prove they catch."""
    tests: tuple[str, ...]
    """pytest node ids (``tests/x.py::test_y``) that pass on the fix and fail on the twin."""
    notebook: str
    """Notebook stem under ``notebooks/`` that reproduces it, e.g. ``01-singletons``."""
    guide_page: str
    """Guide page under ``docs/guide/`` (without ``.md``)."""


RACES: tuple[RaceEntry, ...] = (
    RaceEntry(
        module="cortex.hardware_detection",
        race="get_detector() check-then-act singleton: 100 threads built many detectors",
        severity="critical",
        fix="LazySingleton (double-checked locking)",
        twin="cortex.demos.singletons.UnsafeLazySingleton",
        tests=(
            "tests/test_hardware_detection.py::test_get_detector_gives_one_detector_to_100_threads",
            "tests/test_hardware_detection.py::test_the_same_check_catches_the_upstream_singleton",
            "tests/test_thread_utils.py::test_the_race_check_catches_the_unsafe_twin",
        ),
        notebook="01-singletons",
        guide_page="singletons",
    ),
    RaceEntry(
        module="cortex.hardware_detection",
        race="concurrent detect() calls each ran a full detection",
        severity="medium",
        fix="SingleFlight: one detection shared by concurrent callers",
        twin="cortex.demos.singletons.UnsafeSingleFlight",
        tests=(
            "tests/test_hardware_detection.py::test_concurrent_detect_runs_one_detection",
            "tests/test_thread_utils.py::test_without_single_flight_the_same_callers_duplicate_work",
        ),
        notebook="01-singletons",
        guide_page="singletons",
    ),
)
"""Every race fixed in this repository."""
