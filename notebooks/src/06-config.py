# %% [markdown]
# # Preferences: two processes, no lost update
#
# Cortex keeps user preferences in `~/.cortex/preferences.yaml`. Upstream's `ConfigManager`
# guarded its read-modify-write with a lock **per instance** and wrote the file **in
# place**. Two processes (a `cortex install` and a `cortex config set` running at once) each
# have their own instance, so each reads the same old preferences and the second write
# discards the first. A reader that lands between the truncation and the write sees an
# empty file, which upstream's loader turned into `{}`: every preference gone.
#
# Here two *processes* (started with `spawn`, released together on a
# `multiprocessing.Barrier`) each add one to a `counter` preference 500 times: upstream's
# code as written, no sleep between the read and the write. Two processes run on two cores
# at once, and each file operation is a system call, so nothing needs widening; 500 updates
# each make sure the two overlap whatever their start-up skew, even on a loaded machine
# (with 200, one of three runs in a loaded test session lost nothing). The exact
# answer is 1000.

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
# `cortex.demos.files.UnsafePreferences` is upstream's pattern: a per-instance
# `threading.Lock`, `yaml` load, add one, an in-place write. Three runs:

# %%
from cortex.demos.files import count_in_processes

unsafe_counts = []
for run in range(3):
    run_dir = folder / f"unsafe-{run}"
    run_dir.mkdir()
    unsafe_counts.append(
        count_in_processes(
            "unsafe-prefs", run_dir / "preferences.yaml", processes=2, increments=500
        )
    )
print("updates lost on every run:", all(count < 1000 for count in unsafe_counts))

# %% tags=ignore
from cortex.demos.measure import publish

print("final counter per run (of 1000):", unsafe_counts)
publish("06-config", "unsafe_lost_min", 1000 - max(unsafe_counts), "updates")
publish("06-config", "interpreter", facts.banner())

# %% [markdown]
# ## The fix
#
# `cortex.config_manager.ConfigManager.update_preferences` runs the same function under
# `cortex.utils.file_lock.path_lock(preferences_file)`: a re-entrant thread lock shared by
# every instance in the process, plus an `flock` on `.preferences.yaml.lock` that orders
# processes. The new file is written with an atomic rename. The same three runs:

# %%
fixed_counts = []
for run in range(3):
    run_dir = folder / f"fixed-{run}"
    run_dir.mkdir()
    fixed_counts.append(
        count_in_processes("safe-prefs", run_dir / "preferences.yaml", processes=2, increments=500)
    )
print("final counter per run (of 1000):", fixed_counts)

# %% [markdown]
# Threads with one `ConfigManager` each behave the same: 8 threads x 10 updates.

# %%
from cortex.demos.files import count_in_threads

(folder / "threads").mkdir()
print(
    "final counter (of 80):",
    count_in_threads(
        "safe-prefs", folder / "threads" / "preferences.yaml", threads=8, increments=10
    ),
)

# %% [markdown]
# ## A malformed file is reported, never overwritten
#
# A hand-edited `preferences.yaml` with a syntax error raises
# `cortex.utils.locked_file.CorruptFileError`, which names the file and the line; the file
# keeps every byte.

# %%
from cortex.config_manager import ConfigManager
from cortex.utils.locked_file import CorruptFileError

manager = ConfigManager(config_dir=folder / "hand-edited")
broken = b"theme: dark\nlanguages: [python, rust\nverbose: true\n"
manager.preferences_file.write_bytes(broken)
try:
    manager.set_preference("theme", "light")
except CorruptFileError as error:
    print("error:", type(error).__name__, "at line", error.line)
    print("names the file:", str(manager.preferences_file) in str(error))
print("file untouched:", manager.preferences_file.read_bytes() == broken)

# %% [markdown]
# ## What the fix costs
#
# Updates per second of a small preferences file from one thread: upstream's in-place
# update (no sleep) against `ConfigManager.set_preference` (lock, read, atomic write with
# two `fsync` calls), on the interpreter above.

# %% tags=ignore
from cortex.demos.files import UnsafePreferences, writes_per_second

(folder / "bench").mkdir()
bench = ConfigManager(config_dir=folder / "bench")
bench.save_preferences({"theme": "dark", "language": "en", "verbose": False})
unsafe_store = UnsafePreferences(bench.preferences_file)
unsafe_rate = writes_per_second(unsafe_store.increment)
fixed_rate = writes_per_second(lambda: bench.set_preference("theme", "light"))
print(f"upstream (per-instance lock, in place): {unsafe_rate:8.0f} updates/s")
print(f"ConfigManager (path lock, atomic):      {fixed_rate:8.0f} updates/s   [{facts.banner()}]")
publish("06-config", "unsafe_updates_per_s", round(unsafe_rate), "updates/s")
publish("06-config", "fixed_updates_per_s", round(fixed_rate), "updates/s")
publish("06-config", "fixed_update_ms", round(1000 / fixed_rate, 3), "ms")
publish("06-config", "update_slowdown", round(unsafe_rate / fixed_rate, 1), "x")

# %% tags=ignore
workdir.cleanup()
