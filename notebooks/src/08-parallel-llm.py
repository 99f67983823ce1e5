# %% [markdown]
# # Parallel LLM planning: one executor, any thread, any event loop
#
# `cortex install nginx redis postgresql docker nodejs` asks a model for each package's
# install commands. Upstream's `ParallelLLMExecutor` ran those queries on asyncio, but made
# its `asyncio.Semaphore` in `__init__`: an asyncio primitive binds to the first event loop
# that waits on it, so the executor's **second** batch (a second `asyncio.run`), a batch
# from another thread, or any batch inside Jupyter's loop failed with *"... is bound to a
# different event loop"*. The seed's speed-ups (5 packages 18 s -> 10 s, 20 packages
# 70 s -> 25 s) were projections; this notebook measures them.
#
# Everything runs on the **offline provider**: a deterministic answer after a simulated
# latency (0.2 s here), so no key and no network are needed.

# %% tags=ignore
from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())

# %% [markdown]
# ## The race
#
# `LoopBoundExecutor` is upstream's pattern, kept runnable: a semaphore made at construction,
# used by two batches, each in its own `asyncio.run`. Two concurrent queries at most, five
# queries per batch, so the semaphore has to wait and binds to the first loop.

# %%
from cortex.demos.executor_loop import LoopBoundExecutor, LoopSafeExecutor, run_two_batches

before = run_two_batches(LoopBoundExecutor(max_concurrent=2))
print("first batch ok:", before.first_ok)
print("second batch ok:", before.second_ok)
print("'bound to a different event loop':", "bound to a different event loop" in before.error)

# %% [markdown]
# ## The fix
#
# Make loop-bound primitives inside the coroutine that uses them (one per batch, on the loop
# that runs it), and make everything shared between batches loop-agnostic: the executor's
# `RateLimiter` holds a thread lock only for arithmetic and sleeps with `asyncio.sleep` or
# `time.sleep`.

# %%
after = run_two_batches(LoopSafeExecutor(max_concurrent=2))
print("both batches ok:", after.safe)

# %% [markdown]
# ## The router's statistics
#
# Upstream's router counted requests, tokens and cost with `self.total += n` from every
# thread, and reset them without a lock. `+=` reads, adds and writes: two threads that read
# the same value both write *old + 1*. `UnsafeStats` is that pattern (a 1 ms pause between
# the read and the write stands for the work in between); 100 threads record 5 requests
# each:

# %%
from cortex.demos.harness import run_together
from cortex.demos.llm_bench import bench_index
from cortex.demos.llm_stats import LockedStats, UnsafeStats, race_stats
from cortex.llm_router import LLMRouter

unsafe_stats = race_stats(UnsafeStats(window=0.001), threads=100, per_thread=5)
locked_stats = race_stats(LockedStats(window=0.001), threads=100, per_thread=5)
print(
    "unsafe counter lost updates:", unsafe_stats.counted_requests < unsafe_stats.expected_requests
)
print("locked counter exact:", locked_stats.exact)
stats_router = LLMRouter(environ={}, index=bench_index(), offline_latency=0)
run_together(
    lambda _i: [
        stats_router.complete([{"role": "user", "content": "Install nginx"}]) for _ in range(10)
    ],
    100,
)
print(
    "LLMRouter requests counted from 100 threads x 10:", stats_router.get_stats()["total_requests"]
)

# %% [markdown]
# The real executor, `cortex.parallel_llm.ParallelLLMExecutor`, inside this notebook's own
# running event loop: the blocking `execute_batch` runs the batch on a fresh loop in a
# worker thread; `await execute_batch_async` runs it on this loop. Both engines, the same
# executor reused for every batch:

# %%
from cortex.parallel_llm import ParallelLLMExecutor, create_package_queries

router = LLMRouter(environ={}, index=bench_index(), offline_latency=0.05)
queries = create_package_queries(["nginx", "redis", "postgresql", "docker", "nodejs"])
answers = {}
for engine in ("threads", "asyncio"):
    executor = ParallelLLMExecutor(router, max_concurrent=2, requests_per_second=0, engine=engine)
    first = executor.execute_batch(queries)  # blocking call from inside a running loop
    second = await executor.execute_batch_async(queries)  # noqa: F704, PLE1142, RUF100 - top-level await
    third = executor.execute_batch(queries)
    answers[engine] = [r.response.content for r in third.results]
    print(engine, "batches succeeded:", [b.success_count for b in (first, second, third)])
    print(
        engine,
        "monitoring:",
        {k: executor.stats()[k] for k in ("batches", "failed", "queue_depth")},
    )
print("same answers on both engines:", answers["threads"] == answers["asyncio"])
print(answers["asyncio"][3])

# %% [markdown]
# ## The rate limit allows bursts and still holds
#
# The limiter is a sliding-window log: up to `requests_per_second` queries start at once,
# and no 1-second window, across every thread and loop, ever holds more. Forty queries at
# 20 requests/s, on each engine:

# %%
from cortex.demos.llm_bench import rate_limited_run

limited = [
    rate_limited_run(20.0, count=40, latency=0.05, engine=e, pool=40)
    for e in ("threads", "asyncio")
]
for run in limited:
    print(run["engine"], "never above the limit:", run["never_above_limit"])

# %% tags=ignore
from cortex.demos.measure import publish

for run in limited:
    print(
        f"{run['engine']}: after the burst {run['measured_rps']:.2f} starts/s, busiest 1 s window "
        f"{run['max_starts_in_any_1s_window']} starts, limit {run['limit_rps']:g}"
    )
publish("08-parallel-llm", "llm_interpreter", facts.banner())
publish("08-parallel-llm", "llm_rate_measured", limited[0]["measured_rps"], "starts/s")

# %% [markdown]
# ## What users get at the default settings
#
# Through the real HTTP path: the OpenAI-compatible provider talking to a model server on
# 127.0.0.1 that answers like a chat model (a sentence, then a fenced block), at the
# default `CORTEX_THREAD_POOL_SIZE` and `CORTEX_RATE_LIMIT_RPS`. The seed's 3.6 s per
# answer is run 20 times faster (0.18 s, and 5 starts per 0.05 s instead of per second),
# so the speed-ups are the seed's; the server counts the requests it answers at once.

# %% tags=ignore
from cortex.demos.llm_bench import default_settings_runs
from cortex.parallel_llm import choose_engine

default_engine, _why = choose_engine()
defaults = default_settings_runs(scale=20.0, engines=(default_engine,), repeat=1)
print(defaults["label"])
for row in defaults["rows"]:
    print(
        f"{row['packages']:>3} packages, {row['engine']}: {row['sequential_s']:.2f} s -> "
        f"{row['parallel_s']:.2f} s ({row['speedup']:.2f}x), "
        f"{row['peak_in_flight']} requests in flight at once"
    )
by_count = {row["packages"]: row for row in defaults["rows"]}
publish("08-parallel-llm", "llm_default_speedup_5", by_count[5]["speedup"], "x")
publish("08-parallel-llm", "llm_default_speedup_20", by_count[20]["speedup"], "x")
publish("08-parallel-llm", "llm_default_peak_5", by_count[5]["peak_in_flight"], "requests")

# %% [markdown]
# ## What parallel planning gains: the ceiling
#
# 1, 3, 5, 10 and 20 packages: one after another (upstream's path before the executor), on
# the thread pool and on asyncio, pool size `CORTEX_THREAD_POOL_SIZE` (printed below), rate
# limit off.
# The target is a speed-up of at least 0.9 x min(packages, pool size). Beside it, the seed's
# **projected** figures, never measured upstream.

# %% tags=ignore
from cortex.demos.llm_bench import SEED_PROJECTION, speedup_table

rows = speedup_table(latency=0.2)
print(
    f"{'packages':>8} {'sequential':>10} {'threads':>8} {'asyncio':>8} "
    f"{'x thr':>6} {'x aio':>6}  seed projection"
)
for row in rows:
    seed = SEED_PROJECTION.get(row.packages)
    projected = f"{seed[0]:.0f} s -> {seed[1]:.0f} s ({seed[0] / seed[1]:.1f}x)" if seed else ""
    print(
        f"{row.packages:>8} {row.sequential:>9.2f}s {row.threads:>7.2f}s {row.asyncio:>7.2f}s "
        f"{row.threads_speedup:>6.2f} {row.asyncio_speedup:>6.2f}  {projected}"
    )
print("pool size:", rows[0].pool)
print("target met on every row:", all(row.meets_target for row in rows), f"[{facts.banner()}]")
publish("08-parallel-llm", "llm_pool_size", rows[0].pool, "workers")
by_size = {row.packages: row for row in rows}
publish("08-parallel-llm", "llm_speedup_5_threads", round(by_size[5].threads_speedup, 2), "x")
publish("08-parallel-llm", "llm_speedup_5_asyncio", round(by_size[5].asyncio_speedup, 2), "x")
publish("08-parallel-llm", "llm_speedup_20_threads", round(by_size[20].threads_speedup, 2), "x")
publish("08-parallel-llm", "llm_speedup_20_asyncio", round(by_size[20].asyncio_speedup, 2), "x")
publish("08-parallel-llm", "llm_seconds_5_sequential", round(by_size[5].sequential, 2), "s")
publish("08-parallel-llm", "llm_seconds_5_asyncio", round(by_size[5].asyncio, 2), "s")

# %% tags=ignore
import matplotlib.pyplot as plt

sizes = [row.packages for row in rows]
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(sizes, [min(n, rows[0].pool) for n in sizes], "k:", label="ideal: min(packages, pool)")
ax.plot(sizes, [row.threads_speedup for row in rows], "o-", label="threads (measured)")
ax.plot(sizes, [row.asyncio_speedup for row in rows], "s--", label="asyncio (measured)")
ax.plot(
    list(SEED_PROJECTION),
    [s / p for s, p in SEED_PROJECTION.values()],
    "r^",
    markersize=9,
    label="seed projection (not measured)",
)
ax.set_xlabel("packages planned at once")
ax.set_ylabel("speed-up over one at a time")
ax.set_title(facts.banner(), fontsize=8)
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## Which pool size
#
# With a rate limit, more workers help only until the limiter is saturated: about
# `rate limit x latency` requests in flight (Little's law). The seed's situation, 5
# requests/s and about 3.6 s per answer, run 20 times faster (5 starts per 0.05 s, 0.18 s),
# for a batch of 20 packages:

# %% tags=ignore
from cortex.demos.llm_bench import pool_sweep

sweep = pool_sweep(pools=(1, 2, 4, 8, 10, 16, 20, 32))
for point in sweep:
    print(
        f"pool {point['pool']:>3}: {point['seconds']:.2f} s "
        f"(~{point['seconds'] * 20:.1f} s at seed scale)"
    )
best = min(p["seconds"] for p in sweep)
knee = min(p["pool"] for p in sweep if p["seconds"] <= best * 1.05)
print("smallest pool within 5% of the best:", knee)
publish("08-parallel-llm", "llm_pool_knee", knee, "workers")
publish("08-parallel-llm", "llm_pool10_seed_seconds", round(sweep[4]["seconds"] * 20, 1), "s")
publish("08-parallel-llm", "llm_pool_best_seed_seconds", round(best * 20, 1), "s")
