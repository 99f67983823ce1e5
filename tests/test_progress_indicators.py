"""progress_indicators: one animation thread, always joined, untorn messages, exact trackers.

Every concurrency check runs twice: on the fix, where it must hold, and on the unsafe twin
from ``cortex.demos.spinner``, where it must fail: the life-cycle checks on every run with
real threads, the torn message and the lost counts under explored (or forced) interleavings.
"""

from __future__ import annotations

import threading
import time

import pytest

from cortex import progress_indicators as pi
from cortex.demos.harness import run_together
from cortex.demos.interleavings import check_fix, show_race
from cortex.demos.spinner import (
    PipeCapture,
    TerminalCapture,
    UnsafeDownloadTracker,
    UnsafeSpinner,
    UnsafeStepCounter,
    animation_threads,
    check_spinner,
    hammer_counter,
    rendered_messages,
    torn_message_model,
    tracker_model,
)
from cortex.progress_indicators import (
    FallbackProgress,
    OperationContext,
    OperationStep,
    OperationType,
    ProgressIndicator,
)

EXPLORES = pytest.mark.thread_unsafe(
    reason="explores interleavings: one exploration or preemption block per process at a time"
)

INTERVAL = 0.002  # fast frames: more chances for a torn one to be drawn
SPINNER = "cortex.demos.spinner"
PROGRESS = "cortex.progress_indicators"


def _fixed(stream: TerminalCapture) -> FallbackProgress:
    return FallbackProgress(stream, interval=INTERVAL)


def _twin(stream: TerminalCapture) -> UnsafeSpinner:
    return UnsafeSpinner(stream, interval=INTERVAL)


# -- the spinner race, on the fix and on the twin ---------------------------------------


def test_fixed_spinner_passes_every_concurrency_check() -> None:
    outcome = check_spinner(_fixed)
    assert outcome.threads_after_start == 1  # eight concurrent start() calls: one thread
    assert outcome.alive_after_fail == 0  # fail() joined it
    assert outcome.threads_after_restart == 1  # a restart never revives an old thread
    assert outcome.alive_after_stop == 0  # stop() joined it
    assert outcome.frames > 0
    assert outcome.torn_frames == 0, outcome.torn_examples
    assert outcome.safe


@pytest.mark.thread_unsafe(
    reason="the twin's unjoined threads must still be asleep when it restarts; parallel "
    "copies of this test starve them past the animation interval"
)
@pytest.mark.twin
def test_the_same_checks_catch_the_unsafe_twin() -> None:
    outcome = check_spinner(_twin)
    assert outcome.threads_after_start == 8  # one thread per start() call
    assert outcome.alive_after_fail > 0  # fail() never joins
    assert outcome.threads_after_restart > 1  # the unjoined thread came back to life
    assert not outcome.safe


@pytest.mark.twin
def test_the_twin_draws_a_torn_message_under_some_schedule() -> None:
    report = show_race(torn_message_model(_twin), targets=[SPINNER], budget=100)
    assert report.found, report.details()
    assert "never set" in report.error


@EXPLORES
def test_the_fixed_spinner_never_draws_a_torn_message() -> None:
    check = check_fix(torn_message_model(_fixed), targets=[SPINNER, PROGRESS], budget=100)
    assert check.held, check.error


def hammer_life_cycle(spinner: FallbackProgress | UnsafeSpinner) -> tuple[int, int]:
    """Eight threads cycle start/update/stop 30 times each.

    Returns the most animation threads seen at once and how many calls raised.
    """
    seen: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()  # guards seen and errors

    def work(i: int) -> None:
        for n in range(30):
            try:
                if n % 3 == 0:
                    spinner.start(f"worker {i}")
                elif n % 3 == 1:
                    spinner.update(f"worker {i} step {n}")
                else:
                    spinner.stop(f"worker {i} done")
            except RuntimeError as exc:  # the twin joins threads that have not started
                with lock:
                    errors.append(exc)
            with lock:
                seen.append(animation_threads(spinner))

    run_together(work, 8)
    spinner.stop()
    return max(seen), len(errors)


def test_many_threads_hammering_start_update_stop_never_leave_a_thread() -> None:
    spinner = FallbackProgress(TerminalCapture(), interval=INTERVAL)
    most, errors = hammer_life_cycle(spinner)
    assert most <= 1
    assert errors == 0
    assert animation_threads(spinner) == 0
    assert not spinner.is_running


@pytest.mark.twin
def test_the_hammer_catches_the_unsafe_twin() -> None:
    twin = UnsafeSpinner(TerminalCapture(), interval=INTERVAL)
    most, _errors = hammer_life_cycle(twin)
    assert most > 1
    deadline = time.monotonic() + 2.0  # let its unjoined threads wind down
    while animation_threads(twin) and time.monotonic() < deadline:
        time.sleep(INTERVAL)


def test_start_twice_keeps_one_thread_and_takes_the_new_message() -> None:
    stream = TerminalCapture()
    spinner = FallbackProgress(stream, interval=INTERVAL)
    spinner.start("one")
    spinner.start("two")
    assert animation_threads(spinner) == 1
    assert spinner.message == "two"
    spinner.stop("finished")
    assert animation_threads(spinner) == 0
    assert stream.getvalue().endswith("✓ finished\n")


def test_nothing_is_drawn_after_stop_returns() -> None:
    stream = TerminalCapture()
    spinner = FallbackProgress(stream, interval=INTERVAL)
    spinner.start("working")
    threading.Event().wait(5 * INTERVAL)
    spinner.stop("done")
    after_stop = stream.getvalue()
    threading.Event().wait(5 * INTERVAL)
    assert stream.getvalue() == after_stop
    assert set(rendered_messages(after_stop)) == {"working"}


def test_off_a_terminal_one_line_per_state_change_and_no_carriage_return() -> None:
    stream = PipeCapture()
    spinner = FallbackProgress(stream)
    spinner.start("Resolving")
    spinner.update("Resolving")  # unchanged: no line
    spinner.update("Downloading")
    spinner.fail("network down")
    assert stream.getvalue() == "Resolving...\nDownloading...\n✗ network down\n"
    assert animation_threads(spinner) == 0


def test_off_a_terminal_concurrent_updates_write_whole_lines_only() -> None:
    stream = PipeCapture()
    spinner = FallbackProgress(stream)
    spinner.start("begin")
    messages = [f"message {i}" for i in range(8)]

    def hammer(i: int) -> None:
        for _ in range(50):
            spinner.update(messages[i])

    run_together(hammer, 8)
    spinner.stop("end")
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert set(lines[1:-1]) <= {f"{m}..." for m in messages}
    assert lines[0] == "begin..."
    assert lines[-1] == "✓ end"


def test_stop_without_start_writes_only_a_given_message() -> None:
    stream = PipeCapture()
    spinner = FallbackProgress(stream)
    spinner.stop()
    assert stream.getvalue() == ""
    spinner.stop("nothing to do")
    assert stream.getvalue() == "✓ nothing to do\n"


# -- trackers ------------------------------------------------------------------------------


def test_download_tracker_counts_every_byte_from_many_threads() -> None:
    indicator = ProgressIndicator(stream=PipeCapture())
    tracker = indicator.download_progress(8 * 200, "pkg.deb")
    expected, counted = hammer_counter(lambda _i: tracker.update(1), lambda: tracker.downloaded)
    assert counted == expected == 8 * 200
    assert tracker.fraction == 1.0
    tracker.complete()
    assert tracker.status == "completed"
    tracker.update(5)  # ignored once finished
    assert tracker.downloaded == expected


@pytest.mark.twin
def test_the_download_check_catches_the_unlocked_tracker() -> None:
    model = tracker_model(
        lambda: UnsafeDownloadTracker(10**9), lambda t: t.update(1), lambda t: t.downloaded
    )
    report = show_race(model, targets=[SPINNER], budget=100)
    assert report.found, report.details()


def test_multi_step_tracker_counts_steps_completed_from_many_threads() -> None:
    stream = PipeCapture()
    steps = [f"step {i}" for i in range(64)]
    tracker = ProgressIndicator(stream=stream).multi_step(steps, "Install")

    def work(i: int) -> None:
        for index in range(i, len(steps), 8):
            tracker.start_step(index)
            tracker.complete_step(index)

    run_together(work, 8)
    assert tracker.completed == 64
    assert all(s.status == "completed" and s.end_time is not None for s in tracker.steps)
    tracker.finish()
    assert stream.getvalue().endswith("✓ Install: 64/64 steps completed\n")
    assert tracker.context.status == "completed"


@pytest.mark.twin
def test_the_step_count_check_catches_the_unlocked_counter() -> None:
    model = tracker_model(
        lambda: UnsafeStepCounter(2), lambda t: t.complete_step(0), lambda t: t.completed
    )
    report = show_race(model, targets=[SPINNER], budget=100)
    assert report.found, report.details()


def test_multi_step_fail_and_skip_are_reported() -> None:
    stream = PipeCapture()
    tracker = ProgressIndicator(stream=stream).multi_step(["a", "b", "c"], "Job")
    tracker.start_step(0)
    tracker.complete_step(0)
    tracker.skip_step(1, "cached")
    tracker.fail_step(2, "exit 100")
    tracker.finish()
    text = stream.getvalue()
    assert "- [2/3] b (skipped: cached)" in text
    assert "✗ [2/3] c: exit 100" in text
    assert text.endswith("✗ Job: 2/3 steps completed, 1 failed\n")
    assert tracker.steps[2].error_message == "exit 100"
    assert tracker.context.status == "failed"


# -- the indicator, off a terminal and with rich ------------------------------------------


def test_indicator_off_a_terminal_uses_the_fallback_and_plain_lines() -> None:
    stream = PipeCapture()
    indicator = ProgressIndicator(stream=stream)
    assert not indicator.use_rich
    with indicator.spinner("Resolving") as handle:
        assert isinstance(handle, pi.FallbackSpinnerHandle)
        handle.update("Resolved 3 packages")
    with indicator.operation("Install nginx", OperationType.INSTALL, ["fetch"]) as op:
        assert isinstance(op, pi.FallbackOperationHandle)
        op.update("fetching")
        op.log("a note")
    assert list(indicator.progress_bar(range(20), "Unpacking")) == list(range(20))
    indicator.print_warning("low disk")
    indicator.print_info("ok")
    text = stream.getvalue()
    assert "\r" not in text
    assert "Resolving...\nResolved 3 packages...\n✓ Resolved 3 packages\n" in text
    assert "✓ Install nginx: Done\n" in text
    assert "Unpacking: 20/20 done\n" in text
    assert "⚠ low disk\n" in text
    assert op.context.status == "completed"


def test_operation_fails_when_the_block_raises() -> None:
    stream = PipeCapture()
    indicator = ProgressIndicator(stream=stream)
    with pytest.raises(RuntimeError, match="dpkg"), indicator.operation("Remove vim") as op:
        raise RuntimeError("dpkg locked")
    assert op.context.status == "failed"
    assert stream.getvalue().endswith("✗ Remove vim: dpkg locked\n")


def test_operation_handle_completes_once_from_many_threads() -> None:
    stream = PipeCapture()
    indicator = ProgressIndicator(stream=stream)
    with indicator.operation("Upgrade") as op:
        run_together(lambda _i: op.complete("all done"), 8)
    assert stream.getvalue().count("✓ Upgrade: all done") == 1


@pytest.mark.thread_unsafe(reason="rich's live display is one per console")
def test_indicator_on_a_terminal_draws_with_rich() -> None:
    stream = TerminalCapture()
    indicator = ProgressIndicator(stream=stream)
    assert indicator.use_rich
    with indicator.spinner("Resolving") as handle:
        assert isinstance(handle, pi.SpinnerHandle)
        handle.update("Resolved")
    with indicator.operation("Install", OperationType.INSTALL) as op:
        assert isinstance(op, pi.RichOperationHandle)
        op.update("unpacking")
        op.log("note", style="dim")
    assert list(indicator.progress_bar([1, 2, 3], show_speed=True)) == [1, 2, 3]
    tracker = indicator.download_progress(100)
    run_together(lambda _i: tracker.update(10), 10)
    tracker.complete()
    assert tracker.downloaded == 100
    indicator.print_success("done")
    assert "done" in stream.getvalue()
    assert op.context.status == "completed"


def test_use_rich_false_forces_the_fallback_on_a_terminal() -> None:
    stream = TerminalCapture()
    indicator = ProgressIndicator(use_rich=False, stream=stream)
    assert not indicator.use_rich
    assert indicator.console is None  # as upstream: no console unless rich draws
    tracker = indicator.download_progress(0, "empty")
    tracker.fail("404")
    assert stream.getvalue().endswith("✗ empty: 404\n")


def test_module_functions_share_one_indicator(capsys: pytest.CaptureFixture[str]) -> None:
    indicators = run_together(lambda _i: pi.get_progress_indicator(), 50)
    assert len({id(i) for i in indicators}) == 1
    with pi.spinner("Working"):
        pass
    with pi.operation("Build", OperationType.CONFIGURE) as op:
        op.update("configuring")
    assert list(pi.progress_bar(["a", "b"], "Items")) == ["a", "b"]
    out = capsys.readouterr().out
    assert "✓ Working" in out
    assert "Build: Done" in out


def test_dataclasses_report_progress_and_durations() -> None:
    step = OperationStep(name="fetch", description="Fetch")
    context = OperationContext(OperationType.DOWNLOAD, "Get", steps=[step])
    before = (step.duration_seconds, context.total_steps, context.overall_progress)
    assert before == (None, 1, 0.0)
    step.status = "completed"
    step.start_time = step.end_time = context.start_time
    after = (step.duration_seconds, context.completed_steps, context.overall_progress)
    assert after == (0.0, 1, 1.0)
    assert OperationContext(OperationType.GENERIC, "x").overall_progress == 0.0


def test_force_color_does_not_animate_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # set by many CI systems
    stream = PipeCapture()
    indicator = ProgressIndicator(stream=stream)
    assert not indicator.use_rich
    with indicator.spinner("Building"):
        pass
    assert stream.getvalue() == "Building...\n✓ Building\n"
