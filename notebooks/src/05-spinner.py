# %% [markdown]
# # The spinner thread: one thread, always joined, never a torn message
#
# Cortex shows a spinner while it asks the LLM or runs `apt`. Without rich it falls back to a
# small thread that redraws `⠋ Installing nginx` ten times a second. Upstream's fallback
# started a new thread on every `start()`, took its frames from one `itertools.cycle` shared
# by every thread, never joined the thread on `fail()`, and kept the visible line in fields
# that `update()` stored one after the other. The download and multi-step trackers added
# bytes and steps with unlocked read-modify-writes.
#
# `cortex.demos.spinner.check_spinner` drives a spinner the way concurrent callers do, on a
# fake terminal that records every frame: eight threads call `start()` together, then
# `fail()`, then `start()`, `fail()`, `start()` (a restart), then eight threads hammer
# `update()` with their own messages while the animation draws, then `stop()`. The thread
# defects show on every run with no help. The torn message and the lost counts need a
# thread switch between two bytecodes, which a GIL build rarely makes on its own: for
# those, `cortex.demos.interleavings` chooses the switches (exploration with
# `interleave-test` on Python 3.12+, forced interleaving on 3.10 and 3.11). Nothing in the
# twins sleeps to widen a window.

# %% tags=ignore
from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())

# %% [markdown]
# ## The race
#
# `UnsafeSpinner` is upstream's shape, kept runnable as the *unsafe twin*. Three runs; each
# must show every thread defect.

# %%
from cortex.demos.spinner import UnsafeSpinner, check_spinner

unsafe_runs = [check_spinner(lambda s: UnsafeSpinner(s, interval=0.002)) for _ in range(3)]
print(
    "8 animation threads after 8 concurrent start() calls, every run:",
    all(r.threads_after_start == 8 for r in unsafe_runs),
)
print(
    "threads still alive when fail() returned, every run:",
    all(r.alive_after_fail > 0 for r in unsafe_runs),
)
print(
    "an unjoined thread revived by the restart, every run:",
    all(r.threads_after_restart > 1 for r in unsafe_runs),
)

# %% [markdown]
# The torn message: one thread calls `update("resolving packages")` while the animation
# reads the message for a frame. The twin stores the text, then its width; a frame drawn
# between the two stores shows the new text cut to the old width.

# %%
from cortex.demos.interleavings import check_fix, show_race
from cortex.demos.spinner import torn_message_model

TARGETS = ["cortex.demos.spinner", "cortex.progress_indicators"]
torn = show_race(torn_message_model(UnsafeSpinner), targets=TARGETS, budget=300, seed=1)
print(torn)

# %% tags=ignore
from cortex.demos.measure import publish

print(torn.details())
for r in unsafe_runs:
    print(f"threads after restart: {r.threads_after_restart}, frames: {r.frames}")
publish("05-spinner", "torn_found_at", torn.tried, "schedules")
publish("05-spinner", "interpreter", facts.banner())

# %% [markdown]
# ## The fix
#
# `cortex.progress_indicators.FallbackProgress`: a lock orders the life cycle (`start()`
# while running only replaces the message; `stop()` and `fail()` set an event and join the
# thread, with a timeout, before they draw the last line); the message is one immutable
# string published by a single reference store and read once per frame; each animation
# thread counts its own frames. The same three runs:

# %%
from cortex.progress_indicators import FallbackProgress

fixed_runs = [check_spinner(lambda s: FallbackProgress(s, interval=0.002)) for _ in range(3)]
print("threads after 8 concurrent start():", [r.threads_after_start for r in fixed_runs])
print("threads alive when fail() returned:", [r.alive_after_fail for r in fixed_runs])
print("threads after the restart:", [r.threads_after_restart for r in fixed_runs])
print("threads alive when stop() returned:", [r.alive_after_stop for r in fixed_runs])
print("torn frames:", [r.torn_frames for r in fixed_runs])
print("frames drawn in every run:", all(r.frames > 0 for r in fixed_runs))
print(check_fix(torn_message_model(FallbackProgress), targets=TARGETS, budget=300, seed=1))

# %% [markdown]
# Off a terminal (CI logs, this notebook, a pipe) nothing is animated: one line per state
# change, no carriage return.

# %%
from cortex.demos.spinner import PipeCapture

log = PipeCapture()
progress = FallbackProgress(log)
progress.start("Resolving nginx")
progress.update("Resolving nginx")  # unchanged: no line
progress.update("Downloading 3 packages")
progress.stop("Installed nginx")
print(log.getvalue(), end="")
print("carriage returns:", log.getvalue().count("\r"))

# %% [markdown]
# ## The trackers
#
# Upstream's download tracker adds with `self.downloaded += bytes_received`. The model: two
# threads each report one byte (and, for the step counter, one step). Then the fixed
# `DownloadTracker`, which holds its lock across the addition and the redraw, with eight
# real threads reporting 200 one-byte chunks each.

# %%
from cortex.demos.spinner import (
    UnsafeDownloadTracker,
    UnsafeStepCounter,
    hammer_counter,
    tracker_model,
)
from cortex.progress_indicators import ProgressIndicator

download = tracker_model(
    lambda: UnsafeDownloadTracker(10**9), lambda t: t.update(1), lambda t: t.downloaded
)
print("download tracker:", show_race(download, targets=TARGETS, budget=300, seed=1))
steps = tracker_model(
    lambda: UnsafeStepCounter(2), lambda t: t.complete_step(0), lambda t: t.completed
)
print("step counter:", show_race(steps, targets=TARGETS, budget=300, seed=1))

tracker = ProgressIndicator(stream=PipeCapture()).download_progress(1600, "nginx.deb")
expected, counted = hammer_counter(lambda _i: tracker.update(1), lambda: tracker.downloaded)
print(f"DownloadTracker: {counted} of {expected} bytes")

# %% [markdown]
# ## What the fix costs
#
# `update()` is the call made in loops. The fix's is one reference store behind a method
# call (no lock while the animation thread runs); the twin's is two stores. A
# start-and-stop cycle pays for a thread start, an event and a join.
# Nanoseconds per call, best of five runs, on the interpreter above:

# %% tags=ignore
import time

from cortex.demos.measure import ns_per_call
from cortex.demos.spinner import TerminalCapture

screen = TerminalCapture()
fixed = FallbackProgress(screen, interval=0.1)
fixed.start("measuring")
unsafe = UnsafeSpinner(TerminalCapture(), interval=0.1)
fixed_update_ns = ns_per_call(lambda: fixed.update("measuring"))
unsafe_update_ns = ns_per_call(lambda: unsafe.update("measuring"))
fixed.stop()
locked_tracker = ProgressIndicator(stream=PipeCapture()).download_progress(10**12)
tracker_ns = ns_per_call(lambda: locked_tracker.update(1), number=100_000)
cycle = FallbackProgress(TerminalCapture(), interval=0.1)
started = time.perf_counter()
for _ in range(200):
    cycle.start("x")
    cycle.stop()
cycle_us = (time.perf_counter() - started) / 200 * 1e6
print(f"FallbackProgress.update(): {fixed_update_ns:.1f} ns/call")
print(f"unsafe update() (two stores): {unsafe_update_ns:.1f} ns/call")
print(f"DownloadTracker.update() (locked): {tracker_ns:.1f} ns/call")
print(f"start() + stop() with a thread start and join: {cycle_us:.0f} us   [{facts.banner()}]")
publish("05-spinner", "fixed_update_ns", round(fixed_update_ns, 1), "ns/call")
publish("05-spinner", "unsafe_update_ns", round(unsafe_update_ns, 1), "ns/call")
publish("05-spinner", "tracker_update_ns", round(tracker_ns, 1), "ns/call")
publish("05-spinner", "start_stop_us", round(cycle_us, 1), "us")
