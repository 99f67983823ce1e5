# %% [markdown]
# # Shared state: counters that lose updates, and LLM calls made twice
#
# Cortex's semantic cache counts every hit and miss, and its degradation manager counts API
# failures to decide when to fall back. Upstream kept such counts as `self.hits += 1`: a
# read, an addition and a write. Two threads that read the same value both write it plus
# one, and one update is lost. Without the GIL this needs nothing but two cores; on a GIL
# build it needs a thread switch between the read and the write.
#
# The unsafe twin (`cortex.demos.shared_state.UnsafeCountingCache`) counts exactly as
# upstream did, `self.misses += 1`, with nothing added. A 1 µs switch interval does not show
# the race on a GIL build (the interpreter only hands the GIL over at a few instructions,
# never inside that statement), so this notebook chooses the thread switches itself:
# `cortex.demos.interleavings` explores the interleavings with `interleave-test`'s
# controlled scheduler on Python 3.12+ and falls back to forced interleaving (the GIL
# handed over between bytecodes at seeded random points) on 3.10 and 3.11.

# %% tags=ignore
from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())

# %% [markdown]
# ## The race
#
# The model: two threads each miss once on a fresh cache; both misses must be counted.

# %%
from cortex.demos.interleavings import show_race
from cortex.demos.shared_state import UnsafeCountingCache, counter_model, race_counters

TARGETS = ["cortex.demos.shared_state"]
race = show_race(counter_model(UnsafeCountingCache), targets=TARGETS, budget=300, seed=1)
print(race)

# %% tags=ignore
from cortex.demos.measure import publish

print(race.details())
if race.schedule_json is not None:
    print("replayable schedule:", race.schedule_json[:100], "...")
publish("03-shared-state", "race_found_at", race.tried, "schedules")
publish("03-shared-state", "race_method", race.method)
publish("03-shared-state", "interpreter", facts.banner())

# %% [markdown]
# ## The fix
#
# `cortex.semantic_cache.SemanticCache` counts under one lock, in memory, and adds the
# counts to SQLite in batches (`hits = hits + ?`) inside a transaction; a batch whose
# transaction fails is put back. `stats()` flushes first, so it is exact. Its counters live
# behind SQLite, whose own locking the explorer does not model (a thread waiting on the
# database blocks where the scheduler cannot see it), so the fix is checked with real
# threads: 100 released together, each making 20 look-ups, alternately a hit and a miss,
# five fresh runs:

# %%
import tempfile
from pathlib import Path

from cortex.semantic_cache import SemanticCache

workdir = tempfile.TemporaryDirectory()
cache = SemanticCache(str(Path(workdir.name) / "cache.db"))
fixed_runs = [race_counters(cache, threads=100) for _ in range(5)]
print("hits and misses counted per run:", [(r.hits, r.misses) for r in fixed_runs])
print("exact on every run:", all(r.exact for r in fixed_runs))

# %% [markdown]
# The degradation manager's failure count has the same shape: upstream's
# `self._api_failures += 1`. The model: two threads each report one failed health check.
# Then the fix, with real threads: 100 threads each report five failed health checks.

# %%
from cortex.demos.shared_state import UnsafeFailureTracker, failure_model, race_failures
from cortex.graceful_degradation import GracefulDegradation, ResponseCache

print(show_race(failure_model(UnsafeFailureTracker), targets=TARGETS, budget=300, seed=1))
manager = GracefulDegradation(cache=ResponseCache(Path(workdir.name) / "responses.db"))
print("GracefulDegradation counted:", race_failures(manager))
print("mode:", manager.current_mode.value)

# %% [markdown]
# ## One LLM call per missing prompt
#
# When 50 threads miss on the same prompt at once, each would ask the LLM. The fixed
# cache's `get_or_compute` is single-flight (`cortex.utils.thread_utils.SingleFlight`):
# the first caller computes, the others wait for its answer. The fake LLM takes 50 ms, as a
# network call does (this is the latency being shared, not a widened window).

# %%
from cortex.demos.shared_state import race_single_flight

unsafe_flight = race_single_flight(UnsafeCountingCache(), threads=50)
fixed_flight = race_single_flight(cache, threads=50)
print("more than one LLM call without single-flight:", unsafe_flight.llm_calls > 1)
print("LLM calls with single-flight:", fixed_flight.llm_calls)
print("different answers returned:", fixed_flight.distinct_answers)

# %% tags=ignore
print("LLM calls without single-flight:", unsafe_flight.llm_calls)
publish("03-shared-state", "unsafe_llm_calls", unsafe_flight.llm_calls, "calls")

# %% [markdown]
# ## What the fix costs
#
# The lock adds its acquire and release to every increment. Nanoseconds per increment, one
# thread, best of five runs of 200,000:

# %% tags=ignore
from cortex.demos.shared_state import counter_cost_ns

plain_ns, locked_ns = counter_cost_ns()
print(f"self.n += 1: {plain_ns:.1f} ns; under a lock: {locked_ns:.1f} ns   [{facts.banner()}]")
publish("03-shared-state", "plain_increment_ns", round(plain_ns, 1), "ns")
publish("03-shared-state", "locked_increment_ns", round(locked_ns, 1), "ns")

# %% [markdown]
# A whole exact hit, counted, stays in the microseconds because it never touches SQLite:
# the cache keeps the exact keys it has seen in memory, version-stamped against the
# database. Against upstream's design (a new connection, a read and two counting writes per
# look-up), one thread, then 100 threads released together:

# %% tags=ignore
from cortex.demos.measure import ns_per_call
from cortex.demos.shared_state import MODEL, PROVIDER, SYSTEM, PerCallConnectionCache, lookup_rate

prompt = "install demo-package-3"  # stored by race_counters above
hit_ns = ns_per_call(lambda: cache.get_commands(prompt, PROVIDER, MODEL, SYSTEM), number=50_000)
per_call = PerCallConnectionCache(cache.db_path)
per_call_ns = ns_per_call(
    lambda: per_call.get_commands(prompt, PROVIDER, MODEL, SYSTEM), number=200, repeat=3
)
fixed_rate = lookup_rate(cache.get_commands, prompt)
per_call_rate = lookup_rate(per_call.get_commands, prompt, each=5)
print(f"exact hit: {hit_ns / 1000:.2f} us; per-call connection: {per_call_ns / 1000:.0f} us")
print(f"100 threads: {fixed_rate:,.0f} hits/s against {per_call_rate:,.0f}/s per call")
publish("03-shared-state", "hit_us", round(hit_ns / 1000, 2), "us")
publish("03-shared-state", "per_call_us", round(per_call_ns / 1000, 1), "us")
publish("03-shared-state", "hits_per_s_100_threads", round(fixed_rate), "hits/s")
publish("03-shared-state", "per_call_per_s_100_threads", round(per_call_rate), "hits/s")
publish("03-shared-state", "speedup_100_threads", round(fixed_rate / per_call_rate, 1), "x")

# %% tags=ignore
from cortex.utils.db_pool import close_all_pools

cache.close()
close_all_pools()
workdir.cleanup()
