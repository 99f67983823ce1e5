"""Every unsafe twin that has a model, at both sizes, beside its fix: one list for all users.

Each model exists at two sizes:

* *small* (two threads, one operation each): what :mod:`cortex.demos.interleavings`
  explores with a controlled scheduler, where every extra bytecode multiplies the schedules;
* *stress* (:data:`~cortex.demos.interleavings.STRESS_THREADS` threads,
  :data:`~cortex.demos.interleavings.STRESS_OPERATIONS` operations each): what one
  forced-interleaving run needs. One random run of the small model finds the race only if
  a hand-over lands inside a window of a few bytecodes *and* the other thread is at the
  right point; the stress size repeats that window hundreds of times, as a real test would.

``benchmarks/preempt_bench.py`` measures both from this list, and
``tests/test_twin_detection.py`` checks that one forced run at the default probability
catches every twin and that every fix holds under the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cortex.demos import llm_stats, resolver_cache, shared_state, singletons
from cortex.demos import spinner as spin

__all__ = ["UTILS", "DetectionTwin", "detection_twins"]

Model = Callable[[], None]

UTILS = "cortex.utils.thread_utils"
"""The shared primitives, preempted with every fix built on them."""

SPIN_INTERVAL = 0.002
"""Animation interval of the spinners in the models (fast frames, short runs)."""


@dataclass(frozen=True)
class DetectionTwin:
    """An unsafe twin's models (each raises AssertionError when the race shows) and its fix's."""

    name: str
    """``module.Class``, relative to ``cortex.demos``."""
    unsafe: Model
    """Small model on the twin."""
    fixed: Model | None
    """Small model on the fix, or ``None`` where the fix is checked by its own tests."""
    unsafe_stress: Model
    """Stress-size model on the twin."""
    fixed_stress: Model | None
    """Stress-size model on the fix."""
    targets: tuple[str, ...]
    """Modules whose bytecode forced interleaving preempts (the twin's and the fix's)."""


def detection_twins(tmp: Path) -> list[DetectionTwin]:
    """Every modelled twin; the database-backed fixes put their files under ``tmp``."""
    from cortex.graceful_degradation import GracefulDegradation, ResponseCache  # noqa: PLC0415
    from cortex.progress_indicators import (  # noqa: PLC0415
        DownloadTracker,
        FallbackProgress,
        ProgressIndicator,
    )
    from cortex.semantic_cache import SemanticCache  # noqa: PLC0415
    from cortex.utils.thread_utils import LazySingleton  # noqa: PLC0415

    made = [0]

    def fresh(suffix: str) -> Path:
        made[0] += 1
        return tmp / f"twin-{made[0]}{suffix}"

    def semantic_cache() -> SemanticCache:
        return SemanticCache(str(fresh(".db")))

    def degradation() -> GracefulDegradation:
        return GracefulDegradation(cache=ResponseCache(fresh(".db")))

    def unsafe_spinner(stream: spin.TerminalCapture) -> spin.UnsafeSpinner:
        return spin.UnsafeSpinner(stream, interval=SPIN_INTERVAL)

    def fixed_spinner(stream: spin.TerminalCapture) -> FallbackProgress:
        return FallbackProgress(stream, interval=SPIN_INTERVAL)

    def unsafe_download() -> spin.UnsafeDownloadTracker:
        return spin.UnsafeDownloadTracker(10**9)

    def fixed_download() -> DownloadTracker:
        return ProgressIndicator(stream=spin.PipeCapture()).download_progress(10**9, "model.bin")

    def unsafe_steps() -> spin.UnsafeStepCounter:
        return spin.UnsafeStepCounter(2)

    def download(tracker: spin.UnsafeDownloadTracker | DownloadTracker) -> None:
        tracker.update(1)

    def downloaded(tracker: spin.UnsafeDownloadTracker | DownloadTracker) -> int:
        return tracker.downloaded

    # The fixed MultiStepTracker counts steps, not calls (completing step 0 twice is one
    # step): its exact counts are checked by its own tests, with real threads.
    def step(tracker: spin.UnsafeStepCounter) -> None:
        tracker.complete_step(0)

    def completed(tracker: spin.UnsafeStepCounter) -> int:
        return tracker.completed

    sm, ss = singletons.singleton_model, singletons.singleton_stress_model
    cm, cs = shared_state.counter_model, shared_state.counter_stress_model
    fm, fs = shared_state.failure_model, shared_state.failure_stress_model
    lm, ls = llm_stats.stats_model, llm_stats.stats_stress_model
    rm, rs = resolver_cache.resolution_model, resolver_cache.resolution_stress_model
    tm, ts = spin.torn_message_model, spin.torn_message_stress_model
    km, ks = spin.tracker_model, spin.tracker_stress_model
    return [
        DetectionTwin(
            "singletons.UnsafeLazySingleton",
            sm(singletons.UnsafeLazySingleton),
            sm(LazySingleton),
            ss(singletons.UnsafeLazySingleton),
            ss(LazySingleton),
            ("cortex.demos.singletons", UTILS),
        ),
        DetectionTwin(
            "shared_state.UnsafeCountingCache",
            cm(shared_state.UnsafeCountingCache),
            cm(semantic_cache),
            cs(shared_state.UnsafeCountingCache),
            cs(semantic_cache),
            ("cortex.demos.shared_state", "cortex.semantic_cache"),
        ),
        DetectionTwin(
            "shared_state.UnsafeFailureTracker",
            fm(shared_state.UnsafeFailureTracker),
            fm(degradation),
            fs(shared_state.UnsafeFailureTracker),
            fs(degradation),
            ("cortex.demos.shared_state", "cortex.graceful_degradation"),
        ),
        DetectionTwin(
            "llm_stats.UnsafeStats",
            lm(llm_stats.UnsafeStats),
            lm(llm_stats.LockedStats),
            ls(llm_stats.UnsafeStats),
            ls(llm_stats.LockedStats),
            ("cortex.demos.llm_stats",),
        ),
        DetectionTwin(
            "resolver_cache.UnsafeResolutionCache",
            rm(resolver_cache.UnsafeResolutionCache),
            rm(resolver_cache.fixed_cache),
            rs(resolver_cache.UnsafeResolutionCache),
            rs(resolver_cache.fixed_cache),
            ("cortex.demos.resolver_cache", "cortex.dependency_resolver", UTILS),
        ),
        DetectionTwin(
            "spinner.UnsafeSpinner",
            tm(unsafe_spinner),
            tm(fixed_spinner),
            ts(unsafe_spinner),
            ts(fixed_spinner),
            ("cortex.demos.spinner", "cortex.progress_indicators"),
        ),
        DetectionTwin(
            "spinner.UnsafeDownloadTracker",
            km(unsafe_download, download, downloaded),
            km(fixed_download, download, downloaded),
            ks(unsafe_download, download, downloaded),
            ks(fixed_download, download, downloaded),
            ("cortex.demos.spinner", "cortex.progress_indicators"),
        ),
        DetectionTwin(
            "spinner.UnsafeStepCounter",
            km(unsafe_steps, step, completed),
            None,
            ks(unsafe_steps, step, completed),
            None,
            ("cortex.demos.spinner",),
        ),
    ]
