# %% [markdown]
# # CPU-bound work: threads vs processes, and a shared cache that must resolve once
#
# Before Cortex installs a package it computes the install closure: every package that
# comes with it, through `Depends`, `Pre-Depends`, alternatives and virtual packages.
# `cortex.dependency_resolver` does this in pure Python over the machine's Debian package
# index (or a generated fixture of the same shape): CPU-bound work, the kind free threading
# is for. On a GIL build, threads take turns; processes run in parallel but must start, load
# the index each, and copy results back. On a free-threaded build threads share one index
# and run on every core.
#
# Upstream also cached resolutions in a dictionary checked under one lock and filled under
# another, and handed every caller the same mutable list.

# %% tags=ignore
from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())

# %% [markdown]
# ## The race in a shared resolution cache
#
# 50 threads released together ask one fresh cache for `nginx`. The resolver stands for
# upstream's `apt-cache` call with a 20 ms sleep, which makes the race deterministic on any
# build. `UnsafeResolutionCache` is upstream's pattern:

# %%
from cortex.demos.resolver_cache import (
    UnsafeResolutionCache,
    mutate_shared_result,
    race_resolution_cache,
)
from cortex.dependency_resolver import DependencyResolver, generate_index_text, parse_packages

fixture = parse_packages(generate_index_text(2_000), source="generated fixture")
resolver = DependencyResolver(fixture)
unsafe_runs = [race_resolution_cache(UnsafeResolutionCache, resolver, "nginx") for _ in range(3)]
print("resolved more than once on every run:", all(r.resolutions > 1 for r in unsafe_runs))
shared = mutate_shared_result(UnsafeResolutionCache(resolver.resolve), "nginx")
print("one caller's append seen by the next caller:", "surprise-package" in shared)

# %% tags=ignore
from cortex.demos.measure import publish

print("resolutions per run (unsafe):", [r.resolutions for r in unsafe_runs])
publish(
    "09-cpu-scaling",
    "cache_unsafe_resolutions_min",
    min(r.resolutions for r in unsafe_runs),
    "resolutions",
)
publish("09-cpu-scaling", "cpu_interpreter", facts.banner())

# %% [markdown]
# ## The fix: single-flight misses, frozen results
#
# `cortex.dependency_resolver.ResolutionCache` sends a miss through
# `cortex.utils.thread_utils.SingleFlight`: concurrent callers for one package wait for one
# resolution and share it. Results are frozen dataclasses with tuples, so nobody can change
# what another caller sees.

# %%
from cortex.dependency_resolver import ResolutionCache

fixed_runs = [race_resolution_cache(ResolutionCache, resolver, "nginx") for _ in range(3)]
print("resolutions per run:", [r.resolutions for r in fixed_runs])
print("distinct answers per run:", [r.distinct_answers for r in fixed_runs])
cache = ResolutionCache(resolver.resolve)
print("the same object for every caller:", cache.get("nginx") is cache.get("nginx"))

# %% [markdown]
# ## Threads vs processes
#
# 2,000 packages spread over the index, closures with `Recommends`, on one thread, on N
# threads sharing one index, and on N processes (started, and the index loaded in each,
# before timing; each sends back a small summary). Best of three runs after a warm-up.
# The figures belong to the build named on the first line: on a GIL build expect threads
# near 1x; processes reach what the free cores allow.

# %% tags=ignore
from cortex.demos.resolver_bench import measure_scaling
from cortex.dependency_resolver import IndexSource

scaling = measure_scaling(IndexSource.default(), workers=facts.cores, count=2_000, repeat=3)
print(f"[{facts.banner()}]")
print(f"index: {scaling.index_source}")
print(f"1 thread:            {scaling.serial:.2f} s")
print(
    f"{scaling.workers} threads:           {scaling.threads:.2f} s ({scaling.threads_speedup:.2f}x)"
)
print(
    f"{scaling.workers} processes:         {scaling.processes:.2f} s "
    f"({scaling.processes_speedup:.2f}x)"
)
print(f"  + starting them and loading the index: {scaling.process_start:.2f} s")
print(f"  sending full closures back instead:   {scaling.processes_full_results:.2f} s")
publish("09-cpu-scaling", "cpu_build", facts.build_label)
publish("09-cpu-scaling", "cpu_workers", scaling.workers, "workers")
publish("09-cpu-scaling", "cpu_threads_speedup", round(scaling.threads_speedup, 2), "x")
publish("09-cpu-scaling", "cpu_processes_speedup", round(scaling.processes_speedup, 2), "x")
publish("09-cpu-scaling", "cpu_process_start", round(scaling.process_start, 2), "s")
publish("09-cpu-scaling", "cpu_serial_seconds", round(scaling.serial, 2), "s")

# %%
print("identical results on every engine:", scaling.identical)
