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
    RaceEntry(
        module="cortex.semantic_cache",
        race="hit/miss counters as self.hits += 1: concurrent look-ups lost counts",
        severity="high",
        fix="counts under one lock, flushed to SQLite in batches inside a transaction",
        twin="cortex.demos.shared_state.UnsafeCountingCache",
        tests=(
            "tests/test_semantic_cache.py::test_exact_hit_and_miss_counts_from_100_threads",
            "tests/test_semantic_cache.py::test_the_unsafe_twin_loses_counter_updates",
            "tests/test_semantic_cache.py::test_32_threads_mixed_reads_and_writes",
        ),
        notebook="03-shared-state",
        guide_page="shared-state",
    ),
    RaceEntry(
        module="cortex.semantic_cache",
        race="N threads missing on the same prompt each called the LLM",
        severity="medium",
        fix="SingleFlight in SemanticCache.get_or_compute",
        twin="cortex.demos.shared_state.UnsafeCountingCache",
        tests=(
            "tests/test_semantic_cache.py::test_single_flight_one_llm_call_for_50_threads",
            "tests/test_semantic_cache.py::test_without_single_flight_every_thread_calls_the_llm",
        ),
        notebook="03-shared-state",
        guide_page="shared-state",
    ),
    RaceEntry(
        module="cortex.graceful_degradation",
        race="API failure count and mode switch as unsynchronised read-modify-writes",
        severity="high",
        fix="one lock over the failure count, the mode and the last health check",
        twin="cortex.demos.shared_state.UnsafeFailureTracker",
        tests=(
            "tests/test_graceful_degradation.py::test_failures_from_100_threads_are_all_counted",
            "tests/test_graceful_degradation.py::test_the_unsafe_twin_loses_failures",
        ),
        notebook="03-shared-state",
        guide_page="shared-state",
    ),
    RaceEntry(
        module="cortex.context_memory",
        race="interaction insert and pattern update in two transactions on two connections",
        severity="critical",
        fix="one BEGIN IMMEDIATE transaction: insert, recount, upsert the pattern",
        twin="cortex.demos.shared_state.UnsafeContextMemory",
        tests=(
            "tests/test_context_memory.py::test_32_threads_pattern_frequency_equals_entries",
            "tests/test_context_memory.py::test_the_two_transaction_twin_loses_pattern_updates",
            "tests/test_context_memory.py::test_an_interaction_and_its_pattern_commit_together",
            "tests/test_context_memory.py::test_the_twin_leaves_an_entry_no_pattern_counts",
        ),
        notebook="03-shared-state",
        guide_page="shared-state",
    ),
    RaceEntry(
        module="cortex.kernel_features.accelerator_limits",
        race="pooled writes never committed: a saved profile was invisible, next writer locked",
        severity="critical",
        fix="every write is a pool transaction that commits (or rolls back)",
        twin="cortex.demos.shared_state.LostCommitLimitsDatabase",
        tests=(
            "tests/test_kernel_features.py::test_a_saved_profile_is_committed_and_the_next_writer_is_not_locked",
            "tests/test_kernel_features.py::test_the_lost_commit_twin_hides_the_write_and_locks_the_next_writer",
        ),
        notebook="03-shared-state",
        guide_page="shared-state",
    ),
    RaceEntry(
        module="cortex.hardware_detection",
        race="hardware_cache.json under a per-instance lock, truncated then dumped in place",
        severity="high",
        fix="atomic write under a per-path lock shared by threads and processes (path_lock)",
        twin="cortex.demos.files.UnsafeHardwareCache",
        tests=(
            "tests/test_hardware_detection.py::test_many_detectors_in_threads_share_one_detection",
            "tests/test_hardware_detection.py::test_the_same_check_catches_per_instance_cache_locks",
            "tests/test_hardware_detection.py::test_several_processes_share_one_detection",
            "tests/test_hardware_detection.py::test_the_same_check_catches_processes_without_a_file_lock",
        ),
        notebook="04-file-io",
        guide_page="file-io",
    ),
    RaceEntry(
        module="cortex.utils.atomic_file",
        race="files rewritten in place: readers and crashes saw torn content",
        severity="high",
        fix="temp file in the same directory, fsync, os.replace, fsync of the directory",
        twin="cortex.demos.files.unsafe_write_text",
        tests=(
            "tests/test_file_primitives.py::test_readers_never_see_a_torn_atomic_write",
            "tests/test_file_primitives.py::test_the_same_check_catches_in_place_writes",
            "tests/test_crash_safety.py::test_100_killed_atomic_writers_leave_old_or_new_content",
            "tests/test_crash_safety.py::test_the_same_check_catches_in_place_writes",
        ),
        notebook="04-file-io",
        guide_page="file-io",
    ),
    RaceEntry(
        module="cortex.config_manager",
        race="preferences.yaml read-modify-write under a per-instance lock: updates lost",
        severity="high",
        fix="locked_update: cross-process path lock around read, change, atomic write",
        twin="cortex.demos.files.UnsafePreferences",
        tests=(
            "tests/test_config_manager.py::test_preferences_updates_from_threads_are_never_lost",
            "tests/test_config_manager.py::test_the_same_check_catches_upstreams_per_instance_lock",
            "tests/test_config_manager.py::test_preferences_updates_from_processes_are_never_lost",
            "tests/test_config_manager.py::test_the_same_check_catches_processes_writing_in_place",
        ),
        notebook="06-config",
        guide_page="config",
    ),
    RaceEntry(
        module="cortex.config_manager",
        race="configuration export written in place and unlocked: readers saw torn YAML",
        severity="medium",
        fix="export written atomically under the path lock",
        twin="cortex.demos.files.unsafe_write_text",
        tests=(
            "tests/test_config_manager.py::test_readers_never_see_a_torn_export",
            "tests/test_config_manager.py::test_the_same_check_catches_upstreams_in_place_export",
        ),
        notebook="06-config",
        guide_page="config",
    ),
    RaceEntry(
        module="cortex.notification_manager",
        race="notification history appended by several managers: entries lost",
        severity="medium",
        fix="locked_update of notification_history.json, bounded in memory and on disk",
        twin="cortex.demos.files.UnsafeJsonFile",
        tests=(
            "tests/test_notification_manager.py::test_threads_with_their_own_managers_lose_no_notification",
            "tests/test_notification_manager.py::test_the_same_check_catches_a_per_instance_lock",
        ),
        notebook="06-config",
        guide_page="config",
    ),
    RaceEntry(
        module="cortex.utils.db_pool",
        race="pool took connections back with no commit or rollback: commits lost, writers locked",
        severity="critical",
        fix="checkout commits on success, rolls back on any exception, resets state before reuse",
        twin="cortex.demos.sqlite.LeakyPool",
        tests=(
            "tests/test_db_pool.py::test_the_same_check_catches_upstreams_lost_commit",
            "tests/test_db_pool.py::test_32_threads_mixed_reads_and_writes",
            "tests/test_db_pool.py::test_several_processes_write_with_nothing_lost",
        ),
        notebook="02-sqlite",
        guide_page="sqlite",
    ),
    RaceEntry(
        module="cortex.utils.db_pool",
        race="one connection shared by threads (check_same_thread=False), used after return",
        severity="critical",
        fix="exclusive checkouts; PooledConnection refuses use outside its checkout",
        twin="cortex.demos.sqlite.SharedConnection",
        tests=(
            "tests/test_db_pool.py::test_32_threads_mixed_reads_and_writes",
            "tests/test_db_pool.py::test_use_from_another_thread_inside_the_block_raises",
            "tests/test_db_pool.py::test_upstreams_pool_lets_a_returned_connection_be_used",
        ),
        notebook="02-sqlite",
        guide_page="sqlite",
    ),
    RaceEntry(
        module="cortex.transaction_history",
        race="get_history()/get_undo_manager() check-then-act; database never on the pool",
        severity="critical",
        fix="LazySingleton; every write a pool transaction",
        twin="cortex.demos.sqlite.LeakyPool",
        tests=(
            "tests/test_transaction_history.py::test_singletons_from_100_threads",
            "tests/test_transaction_history.py::test_32_threads_mixed_reads_and_writes",
            "tests/test_transaction_history.py::test_the_same_check_fails_on_upstreams_pool",
            "tests/test_transaction_history.py::test_several_processes_write_with_nothing_lost",
        ),
        notebook="02-sqlite",
        guide_page="sqlite",
    ),
    RaceEntry(
        module="cortex.installation_history",
        race="cursor used and committed after the connection went back to the pool",
        severity="critical",
        fix="all work inside one checkout; use after return raises",
        twin="cortex.demos.sqlite.LeakyPool",
        tests=(
            "tests/test_installation_history.py::test_32_threads_mixed_reads_and_writes",
            "tests/test_installation_history.py::test_the_same_check_fails_on_upstreams_pool",
            "tests/test_installation_history.py::test_several_processes_write_with_nothing_lost",
        ),
        notebook="02-sqlite",
        guide_page="sqlite",
    ),
    RaceEntry(
        module="cortex.progress_indicators",
        race="start() twice started a second spinner thread; stop() did not join it",
        severity="high",
        fix="one animation thread per spinner, started under a lock; stop and fail join it",
        twin="cortex.demos.spinner.UnsafeSpinner",
        tests=(
            "tests/test_progress_indicators.py::test_fixed_spinner_passes_every_concurrency_check",
            "tests/test_progress_indicators.py::test_the_same_checks_catch_the_unsafe_twin",
            "tests/test_progress_indicators.py::test_many_threads_hammering_start_update_stop_never_leave_a_thread",
            "tests/test_progress_indicators.py::test_the_hammer_catches_the_unsafe_twin",
        ),
        notebook="05-spinner",
        guide_page="spinner",
    ),
    RaceEntry(
        module="cortex.progress_indicators",
        race="message and frame state torn between the caller and the animation thread",
        severity="medium",
        fix="the message is one immutable string replaced in a single store; per-thread frames",
        twin="cortex.demos.spinner.UnsafeSpinner",
        tests=(
            "tests/test_progress_indicators.py::test_fixed_spinner_passes_every_concurrency_check",
            "tests/test_progress_indicators.py::test_the_same_checks_catch_the_unsafe_twin",
        ),
        notebook="05-spinner",
        guide_page="spinner",
    ),
    RaceEntry(
        module="cortex.progress_indicators",
        race="download and multi-step trackers updated without a lock: bytes and steps lost",
        severity="medium",
        fix="a lock per tracker around each update",
        twin="cortex.demos.spinner.UnsafeDownloadTracker",
        tests=(
            "tests/test_progress_indicators.py::test_download_tracker_counts_every_byte_from_many_threads",
            "tests/test_progress_indicators.py::test_the_download_check_catches_the_unlocked_tracker",
            "tests/test_progress_indicators.py::test_multi_step_tracker_counts_steps_completed_from_many_threads",
            "tests/test_progress_indicators.py::test_the_step_count_check_catches_the_unlocked_counter",
        ),
        notebook="05-spinner",
        guide_page="spinner",
    ),
    RaceEntry(
        module="cortex.logging_system",
        race="the standard rotating handler used by several processes lost lines at rotation",
        severity="high",
        fix="concurrent-log-handler: rotation under a cross-process lock",
        twin="logging.handlers.RotatingFileHandler",
        tests=(
            "tests/test_logging_system.py::test_processes_sharing_one_log_lose_and_duplicate_nothing",
            "tests/test_logging_system.py::test_the_same_check_catches_the_standard_rotating_handler",
        ),
        notebook="07-logging",
        guide_page="logging",
    ),
    RaceEntry(
        module="cortex.logging_system",
        race="operation timings keyed by name: overlapping runs of one operation collided",
        severity="medium",
        fix="start_operation returns an id; timings are kept per operation instance",
        twin="cortex.demos.logging_rotation.UnsafeOperationTimer",
        tests=(
            "tests/test_logging_system.py::test_overlapping_operations_with_one_name_are_both_timed_right",
            "tests/test_logging_system.py::test_the_timing_check_catches_timings_keyed_by_name",
        ),
        notebook="07-logging",
        guide_page="logging",
    ),
    RaceEntry(
        module="cortex.parallel_llm",
        race="asyncio semaphore made in __init__: the second batch was bound to another loop",
        severity="high",
        fix="loop-bound primitives made per batch; a thread-locked, loop-agnostic RateLimiter",
        twin="cortex.demos.executor_loop.LoopBoundExecutor",
        tests=(
            "tests/test_parallel_llm.py::test_the_unsafe_twin_breaks_on_its_second_event_loop",
            "tests/test_parallel_llm.py::test_one_executor_serves_many_batches_threads_and_loops",
        ),
        notebook="08-parallel-llm",
        guide_page="parallel-llm",
    ),
    RaceEntry(
        module="cortex.llm_router",
        race="request, token and cost statistics updated with += from many threads",
        severity="medium",
        fix="one lock around every update, snapshot and reset",
        twin="cortex.demos.llm_stats.UnsafeStats",
        tests=(
            "tests/test_llm_router.py::test_stats_are_exact_under_100_threads",
            "tests/test_llm_router.py::test_the_unsafe_twin_counter_loses_updates",
        ),
        notebook="08-parallel-llm",
        guide_page="parallel-llm",
    ),
    RaceEntry(
        module="cortex.dependency_resolver",
        race="resolution cache checked and filled under separate locks; one shared mutable list",
        severity="medium",
        fix="SingleFlight on a miss; frozen Resolution results",
        twin="cortex.demos.resolver_cache.UnsafeResolutionCache",
        tests=(
            "tests/test_dependency_resolver.py::test_fixed_cache_resolves_once_for_50_threads",
            "tests/test_dependency_resolver.py::test_unsafe_cache_twin_resolves_many_times",
            "tests/test_dependency_resolver.py::test_unsafe_cache_twin_shares_one_mutable_answer",
        ),
        notebook="09-cpu-scaling",
        guide_page="cpu-scaling",
    ),
)
"""Every race fixed in this repository."""
