# %% [markdown]
# # Lazy singletons: one instance, whatever the concurrency
#
# Cortex's `get_detector()` and `get_history()` create their object on first use with
# *check-then-act*: `if _x is None: _x = X()`. Two threads that pass the check before either
# assigns each build their own instance. Upstream locked `get_history()` but never
# `get_detector()`; 50 threads made 8 detectors.
#
# This notebook releases 100 threads together on a `threading.Barrier` against both
# versions. The constructor sleeps 50 ms, as a real one does while it opens a file or a
# database: the sleep releases the GIL, so the race shows on a GIL build as well, and a
# free-threaded build needs no sleep at all.

# %% tags=ignore
from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())

# %% [markdown]
# ## The race
#
# `UnsafeLazySingleton` is the upstream pattern, kept runnable as the *unsafe twin*.
# Five fresh runs; each must build more than one instance.

# %%
from cortex.demos.singletons import UnsafeLazySingleton, race_singleton

unsafe_runs = [race_singleton(UnsafeLazySingleton, threads=100) for _ in range(5)]
print("more than one instance on every run:", all(r.constructed > 1 for r in unsafe_runs))
print(
    "callers got different objects on every run:",
    all(r.distinct_instances > 1 for r in unsafe_runs),
)

# %% tags=ignore
from cortex.demos.measure import publish

print("instances built per run:", [r.constructed for r in unsafe_runs])
publish(
    "01-singletons", "unsafe_instances_min", min(r.constructed for r in unsafe_runs), "instances"
)
publish("01-singletons", "interpreter", facts.banner())

# %% [markdown]
# ## The fix
#
# `cortex.utils.thread_utils.LazySingleton` checks once without a lock (the fast path, once
# the instance exists), then takes a lock and checks again before building. The same five
# runs, the same 100 threads:

# %%
from cortex.utils.thread_utils import LazySingleton

fixed_runs = [race_singleton(LazySingleton, threads=100) for _ in range(5)]
print("instances built per run:", [r.constructed for r in fixed_runs])
print("distinct objects returned per run:", [r.distinct_instances for r in fixed_runs])

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
