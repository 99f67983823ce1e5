# %% [markdown]
# # Rotating logs shared by processes, and timings per operation
#
# Cortex writes `~/.cortex/logs/cortex.log` from every process that runs: the CLI, a
# daemon, a parallel installer. Upstream used the standard `RotatingFileHandler`, which is
# thread-safe inside one process but not across processes: each process keeps its own file
# handle and rotates on its own, renaming files the others are still writing into. Upstream
# also timed operations by *name*, so two overlapping `install` operations overwrote each
# other's start time.
#
# `cortex.demos.logging_rotation.run_rotation` starts four processes (spawned, released
# together on a `multiprocessing.Barrier`) that each log 1,000 numbered lines to one file
# rotated every 4 KiB, then counts every line across the live file and all its rotated
# copies. `backup_count` (200) is larger than any run needs, so a line missing was lost by
# the handler, not by the retention policy. Both handlers run as they are, with no pause
# added: this race is between processes, so it is shown with real processes (a controlled
# scheduler of one interpreter's bytecodes cannot see another process).

# %% tags=ignore
import tempfile
from pathlib import Path

from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())
workdir = tempfile.TemporaryDirectory()
folder = Path(workdir.name)

# %% [markdown]
# ## The race
#
# Two runs with the standard handler:

# %%
from cortex.demos.logging_rotation import run_rotation

unsafe_runs = [run_rotation("stdlib", folder / f"stdlib-{run}") for run in range(2)]
print("lines written per run:", unsafe_runs[0].expected)
print("lines lost on every run:", all(r.lost > 0 for r in unsafe_runs))

# %% tags=ignore
from cortex.demos.measure import publish

for r in unsafe_runs:
    print(
        f"lost {r.lost} of {r.expected}, duplicated {r.duplicated}, "
        f"records failed {r.errors}, files {r.files}"
    )
publish("07-logging", "stdlib_lost_min", min(r.lost for r in unsafe_runs), "lines")
publish("07-logging", "stdlib_lost_max", max(r.lost for r in unsafe_runs), "lines")
publish("07-logging", "interpreter", facts.banner())

# %% [markdown]
# ## The fix
#
# `concurrent_log_handler.ConcurrentRotatingFileHandler` takes a lock file around every write
# and every rotation and re-opens a file that another process has rotated away. The same
# two runs, then one run through `cortex.logging_system.CortexLogger` itself (text, JSON and
# error logs, all on that handler):

# %%
fixed_runs = [run_rotation("concurrent", folder / f"concurrent-{run}") for run in range(2)]
cortex_run = run_rotation("cortex", folder / "cortex")
for label, r in [
    ("concurrent", fixed_runs[0]),
    ("concurrent", fixed_runs[1]),
    ("CortexLogger", cortex_run),
]:
    print(
        f"{label}: {r.unique} of {r.expected} lines found, lost {r.lost}, "
        f"duplicated {r.duplicated}, failed records {r.errors}"
    )
print(
    "rotated more than 10 times in every run:", all(r.files > 10 for r in [*fixed_runs, cortex_run])
)

# %% [markdown]
# ## Timings per operation, not per name
#
# Two threads each time an `install`: the first from t=0 to t=30, the second from t=10 to
# t=15, both ending by name (upstream's call shape). A manual clock makes the durations
# exact. Keyed by name, the second start overwrites the first:

# %%
from cortex.demos.logging_rotation import ManualClock, UnsafeOperationTimer, overlapping_same_name

clock = ManualClock()
twin = UnsafeOperationTimer(clock)
print(
    "keyed by name (first, second):",
    overlapping_same_name(twin.start_operation, twin.end_operation, clock),
)

# %% [markdown]
# `CortexLogger.start_operation` returns an ID per instance; a bare name ends the most
# recent operation of that name started by the calling thread:

# %%
from cortex.logging_system import CortexLogger

logger = CortexLogger(name="notebook", log_dir=folder / "timings", console_level="CRITICAL")
logger._clock = clock
print(
    "CortexLogger (first, second):",
    overlapping_same_name(logger.start_operation, logger.end_operation, clock),
)
print("still running:", logger.running_operations())
logger.close()

# %% [markdown]
# ## What the fix costs
#
# Lines per second that one process logs with each handler, rotating every 64 KiB (a
# realistic size makes rotations rare; the 4 KiB above made them the bulk of the work). The
# lock file costs a `flock` per line and a `stat` to notice a rotation by another process;
# `CortexLogger` also formats each record twice and writes it to two files (text and JSON).
# Best of three runs of 2,000 lines:

# %% tags=ignore
from cortex.demos.logging_rotation import lines_per_second

rates = {
    kind: max(lines_per_second(kind, folder / f"rate-{kind}-{n}") for n in range(3))
    for kind in ("stdlib", "concurrent", "cortex")
}
for kind, rate in rates.items():
    print(f"{kind:>10}: {rate:8.0f} lines/s")
print(f"[{facts.banner()}]")
publish("07-logging", "stdlib_lines_per_s", round(rates["stdlib"]), "lines/s")
publish("07-logging", "concurrent_lines_per_s", round(rates["concurrent"]), "lines/s")
publish("07-logging", "cortex_lines_per_s", round(rates["cortex"]), "lines/s")
publish("07-logging", "slowdown", round(rates["stdlib"] / rates["concurrent"], 2), "x")

# %%
workdir.cleanup()
