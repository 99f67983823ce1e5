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
# `UnsafeResolutionCache` is upstream's pattern as written: look in the cache under the
# lock, let go of it, resolve, store under the lock again. Two callers that miss together
# both resolve. Nothing widens the window; `cortex.demos.interleavings` chooses the thread
# switches (exploration with `interleave-test` on Python 3.12+, forced interleaving on 3.10
# and 3.11). The model: two threads ask a fresh cache for `nginx`, and it must be resolved
# once.

# %%
from cortex.demos.interleavings import check_fix, show_race
from cortex.demos.resolver_cache import (
    UnsafeResolutionCache,
    mutate_shared_result,
    race_resolution_cache,
    resolution_model,
)
from cortex.dependency_resolver import DependencyResolver, generate_index_text, parse_packages

TARGETS = ["cortex.demos.resolver_cache", "cortex.dependency_resolver", "cortex.utils.*"]
race = show_race(resolution_model(UnsafeResolutionCache), targets=TARGETS, budget=300, seed=1)
print(race)
fixture = parse_packages(generate_index_text(2_000), source="generated fixture")
resolver = DependencyResolver(fixture)
shared = mutate_shared_result(UnsafeResolutionCache(resolver.resolve), "nginx")
print("one caller's append seen by the next caller:", "surprise-package" in shared)

# %% tags=ignore
from cortex.demos.measure import publish

print(race.details())
publish("09-cpu-scaling", "cache_race_found_at", race.tried, "schedules")
publish("09-cpu-scaling", "cpu_interpreter", facts.banner())

# %% [markdown]
# ## The fix: single-flight misses, frozen results
#
# `cortex.dependency_resolver.ResolutionCache` sends a miss through
# `cortex.utils.thread_utils.SingleFlight`: concurrent callers for one package wait for one
# resolution and share it. Results are frozen dataclasses with tuples, so nobody can change
# what another caller sees. The same model under every schedule tried, then 50 real
# threads on the real resolver:

# %%
from cortex.dependency_resolver import ResolutionCache

print(check_fix(resolution_model(ResolutionCache), targets=TARGETS, budget=300, seed=1))
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
