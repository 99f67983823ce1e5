# %% [markdown]
# # Lazy singletons: one instance, whatever the concurrency
#
# Cortex's `get_detector()` and `get_history()` create their object on first use with
# *check-then-act*: `if _x is None: _x = X()`. Two threads that pass the check before either
# assigns each build their own instance. Upstream locked `get_history()` but never
# `get_detector()`; 50 threads made 8 detectors.
#
# This notebook runs both versions as they are written, and controls the thread switches
# from outside: the race shows on any build, deterministically, and the fix holds under the
# same treatment.

# %% tags=ignore
from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())

# %% [markdown]
# ## The race
#
# `UnsafeLazySingleton` is upstream's `get_detector()` body, kept runnable as the *unsafe
# twin*: no sleep, no widened window. `singleton_model` builds a fresh holder, lets two
# threads call `get()` and checks that one instance was built and both got it. What
# decides the interleaving is `cortex.demos.interleavings.show_race`: on Python 3.12+ it
# runs the model under `interleave-test`'s controlled scheduler, which picks the thread
# that runs at every bytecode (PCT schedules, seeded); on 3.10 and 3.11 it falls back to
# forced interleaving (real threads, the GIL handed over between bytecodes at seeded random
# points). Either way the race is shown on this interpreter, GIL or not.

# %%
from cortex.demos.interleavings import check_fix, replay, show_race
from cortex.demos.singletons import UnsafeLazySingleton, singleton_model

TARGETS = ["cortex.demos.singletons", "cortex.utils.thread_utils"]
race = show_race(singleton_model(UnsafeLazySingleton), targets=TARGETS, budget=300, seed=1)
print(race)

# %% [markdown]
# Which schedule found it depends on the interpreter (schedules count bytecodes, which
# change between versions), so the details are not part of the stored output. On 3.12+ the
# failing schedule is JSON, and replaying it fails the same way every time:

# %% tags=ignore
from cortex.demos.measure import publish

print(race.details())
if race.schedule_json is not None:
    print("schedule:", race.schedule_json[:120], "...")
    print("replayed:", replay(singleton_model(UnsafeLazySingleton), race.schedule_json))
publish("01-singletons", "race_found_at", race.tried, "schedules")
publish("01-singletons", "race_method", race.method)
publish("01-singletons", "interpreter", facts.banner())

# %% [markdown]
# ## The fix
#
# `cortex.utils.thread_utils.LazySingleton` checks once without a lock (the fast path, once
# the instance exists), then takes a lock and checks again before building. The same model
# under 300 PCT schedules and 300 bounded-DFS schedules (at most two preemptions); under
# forced interleaving, 300 seeded runs:

# %%
from cortex.utils.thread_utils import LazySingleton

fix = check_fix(singleton_model(LazySingleton), targets=TARGETS, budget=300, seed=1)
print(fix)

# %% tags=ignore
print(fix.details())
publish("01-singletons", "fix_method", fix.details())

# %% [markdown]
# With no help at all, 100 real threads released on a barrier are scheduled by the OS
# alone. On a GIL build the switch almost never falls between the check and the assignment;
# on a free-threaded build it can. What this run got (not checked, it depends on the build):

# %% tags=ignore
from cortex.demos.singletons import race_singleton

unaided = race_singleton(UnsafeLazySingleton, threads=100)
print("instances built by 100 unaided threads:", unaided.constructed)

# %% [markdown]
# The real module uses it: `cortex.hardware_detection.get_detector()` is a `LazySingleton`.

# %%
from cortex.demos.harness import run_together
from cortex.hardware_detection import get_detector

detectors = run_together(lambda _i: get_detector(), threads=100)
print("distinct detectors from 100 threads:", len({id(d) for d in detectors}))

# %% [markdown]
# ## What the fix costs
#
# After creation every call takes the fast path: one attribute read and a `None` test, the
# same work as the unsafe version plus a method call. Nanoseconds per `get()`, best of five
# runs of 200,000 calls each, on the interpreter above:

# %% tags=ignore
from cortex.demos.measure import ns_per_call

unsafe_holder = UnsafeLazySingleton(object)
fixed_holder = LazySingleton(object)
_ = (unsafe_holder.get(), fixed_holder.get())  # create both before timing
unsafe_ns = ns_per_call(unsafe_holder.get)
fixed_ns = ns_per_call(fixed_holder.get)
ratio = fixed_ns / unsafe_ns
print(f"unsafe get(): {unsafe_ns:.1f} ns/call")
print(f"LazySingleton.get(): {fixed_ns:.1f} ns/call")
print(f"ratio (fixed / unsafe): {ratio:.2f}x   [{facts.banner()}]")
publish("01-singletons", "unsafe_ns_per_call", round(unsafe_ns, 1), "ns/call")
publish("01-singletons", "fixed_ns_per_call", round(fixed_ns, 1), "ns/call")
publish("01-singletons", "fast_path_ratio", round(ratio, 2), "x")
