# %% [markdown]
# # File writes: never torn, never lost
#
# Upstream Cortex rewrites its JSON and YAML files **in place**: `open(path, "w")` truncates
# the file, then the new content is written. For that moment the file is empty or half
# written: a reader in another thread or process sees it torn, and a crash leaves it torn
# for good. The hardware cache (`~/.cortex/hardware_cache.json`) is also guarded by a lock
# *per detector instance*, although every instance and every process shares the one file.
#
# This notebook reproduces both races with the unsafe twins in `cortex.demos.files`, shows
# the fix holding, and measures what the fix costs. The twins are upstream's writes as they
# are, with no sleep: these races live in the file system. Every `open`, `read` and `write`
# releases the GIL, so real threads interleave there on any build (a controlled scheduler
# of Python bytecodes would not help: it runs each system call as one step).

# %% tags=ignore
import tempfile
from pathlib import Path

from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())
workdir = tempfile.TemporaryDirectory()
folder = Path(workdir.name)

# %% [markdown]
# ## The race: readers see a torn file
#
# One writer rewrites a 20 kB JSON document 40 times while four reader threads parse it in a
# loop; all five start together on a barrier. A read is *torn* when the text does not parse
# as a complete document. Five runs with upstream's in-place writer:

# %%
from cortex.demos.files import torn_reads, unsafe_write_text

unsafe_runs = [torn_reads(unsafe_write_text, folder / f"unsafe-{i}.json") for i in range(5)]
print("readers saw a torn file:", any(r.torn > 0 for r in unsafe_runs))

# %% tags=ignore
from cortex.demos.measure import publish

print("torn reads per run:", [r.torn for r in unsafe_runs], "of", [r.reads for r in unsafe_runs])
publish("04-file-io", "unsafe_torn_min", min(r.torn for r in unsafe_runs), "torn reads")
publish("04-file-io", "interpreter", facts.banner())

# %% [markdown]
# ## The fix: write beside it, then rename
#
# `cortex.utils.atomic_file.atomic_write_text` writes a temporary file in the same
# directory, `fsync`s it, gives it the old file's permissions, renames it over the target
# with `os.replace` (atomic on one filesystem) and `fsync`s the directory. A reader opens
# either the old inode or the new one. The same five runs:

# %%
from cortex.utils.atomic_file import atomic_write_text

fixed_runs = [torn_reads(atomic_write_text, folder / f"fixed-{i}.json") for i in range(5)]
print("torn reads per run:", [r.torn for r in fixed_runs])
print("readers read throughout:", all(r.reads > 0 for r in fixed_runs))

# %% [markdown]
# ## The hardware cache: one lock for the file, not one per detector
#
# Fifty threads each build their *own* `HardwareDetector` (as separate modules do) on an
# empty cache; each runs this machine's real detection (`/proc`, `lspci`...), counted.
# Upstream's per-instance lock lets every detector find the cache missing and detect:

# %%
from cortex.demos.files import count_detections

(folder / "unsafe-hw").mkdir()
unsafe_detections = count_detections("unsafe", folder / "unsafe-hw", threads=50)
print("more than one detection with per-instance locks:", unsafe_detections > 1)

# %% [markdown]
# The fixed module takes `cortex.utils.file_lock.path_lock(cache_path)`, one lock object per
# path in the process, which also takes an `flock` so other processes wait too. The first
# detector detects and writes the cache atomically; the other 49 wait, then load it:

# %%
(folder / "fixed-hw").mkdir()
print(
    "detections with the shared path lock:",
    count_detections("safe", folder / "fixed-hw", threads=50),
)
(folder / "procs-hw").mkdir()
print("detections from 3 processes:", count_detections("safe", folder / "procs-hw", processes=3))

# %% [markdown]
# ## What the fix costs
#
# Writes per second of a 1 kB JSON document, single thread, on the interpreter above: in
# place (unsafe), atomic, and atomic under the cross-process lock
# (`cortex.utils.locked_file.write_json`). The atomic write pays for two `fsync` calls and
# a rename; the lock adds a `flock` on a side file.

# %% tags=ignore
import json

from cortex.demos.files import writes_per_second
from cortex.utils.locked_file import write_json

document = {"payload": "x" * 1000}
text = json.dumps(document)
target = folder / "bench.json"
inplace_rate = writes_per_second(lambda: target.write_text(text))
atomic_rate = writes_per_second(lambda: atomic_write_text(target, text))
locked_rate = writes_per_second(lambda: write_json(target, document))
print(f"in place:      {inplace_rate:10.0f} writes/s")
print(f"atomic:        {atomic_rate:10.0f} writes/s")
print(f"atomic + lock: {locked_rate:10.0f} writes/s   [{facts.banner()}]")
publish("04-file-io", "inplace_writes_per_s", round(inplace_rate), "writes/s")
publish("04-file-io", "atomic_writes_per_s", round(atomic_rate), "writes/s")
publish("04-file-io", "locked_writes_per_s", round(locked_rate), "writes/s")
publish("04-file-io", "atomic_slowdown", round(inplace_rate / atomic_rate, 1), "x")
publish("04-file-io", "locked_write_ms", round(1000 / locked_rate, 3), "ms")

# %% tags=ignore
workdir.cleanup()
