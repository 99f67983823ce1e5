#!/usr/bin/env python3
"""Benchmark the semantic cache and the SQLite-backed stores; write the results as JSON.

Run from the repository root, in the project's environment::

    python benchmarks/cache_bench.py                      # benchmarks/results/cache.json
    python benchmarks/cache_bench.py /tmp/cache.json

What it measures (every figure printed next to the interpreter that produced it):

1. Exact-hit look-ups per second from 100 concurrent threads: the pooled, read-through
   :class:`~cortex.semantic_cache.SemanticCache` (target >= 50,000/s on two cores) against
   upstream's per-call connections (:class:`~cortex.demos.shared_state.PerCallConnectionCache`,
   target: the cache >= 10x faster) in the same run.
2. Similarity look-ups per second (an exact miss, then the guarded similarity search):
   one thread, 8 threads, and 2 processes.
3. Single-thread cost of one look-up against a bare ``sqlite3`` query run on the same pooled
   connection (the C method, no pool): through SQL (``read_through=False``; target <=
   1.3x, the median of interleaved rounds, with min and max) and with the in-memory hits
   (target <= 1.2x). Both sides hash the prompt and decode the JSON (the store memoises
   those two pure functions); the SQL query runs on every call.
4. Resident memory (``VmRSS``) with every database-backed module's database open and 100
   threads working.

The whole measurement runs ``--repeats`` times (default 3); each figure is the median of
the runs, stored with its minimum, maximum, the number of repeats and the machine's load
average before and after (:func:`cortex.demos.measure.combine_runs`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import multiprocessing
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from cortex.context_memory import ContextMemory, MemoryEntry  # noqa: E402
from cortex.demos.harness import run_together  # noqa: E402
from cortex.demos.measure import combine_runs, load_average  # noqa: E402
from cortex.demos.shared_state import PerCallConnectionCache  # noqa: E402
from cortex.graceful_degradation import ResponseCache  # noqa: E402
from cortex.kernel_features.accelerator_limits import LimitsDatabase, ResourceLimits  # noqa: E402
from cortex.kernel_features.kv_cache_manager import CacheDatabase  # noqa: E402
from cortex.runtime import runtime_facts  # noqa: E402
from cortex.semantic_cache import SemanticCache  # noqa: E402
from cortex.utils.db_pool import close_all_pools, get_connection_pool  # noqa: E402

P, M, S = "claude", "sonnet", "You turn requests into apt commands."
ENTRIES = 200
THREADS = 100
SQL_PATH_REPEATS = 31  # interleaved rounds of the bare query and the store's SQL look-up
SQL_PATH_CALLS = 1000  # calls per round
_EXACT_SQL = (
    "SELECT id, commands_json FROM llm_cache_entries WHERE provider = ? AND "
    "model = ? AND system_hash = ? AND prompt_hash = ?"
)


def _prompts() -> list[str]:
    return [f"install bench-package-{i}" for i in range(ENTRIES)]


def _fill(db: str) -> SemanticCache:
    cache = SemanticCache(db, max_entries=10_000)
    for prompt in _prompts():
        cache.put_commands(prompt, P, M, S, [f"sudo apt install {prompt.split()[-1]}"])
    return cache


def _threads_rate(lookup: Callable[[str], object], threads: int, per_thread: int) -> float:
    """Look-ups per second with ``threads`` threads released together."""
    prompts = _prompts()

    def work(index: int) -> None:
        for j in range(per_thread):
            lookup(prompts[(index * 7 + j) % ENTRIES])

    started = time.perf_counter()
    run_together(work, threads)
    return threads * per_thread / (time.perf_counter() - started)


def _similar_prompt(i: int) -> str:
    return f"please install bench-package-{i % ENTRIES} now"  # not exact; same intent


def _similarity_worker(db: str, count: int, offset: int, start_at: float) -> float:
    """In a child process: wait for ``start_at``, do ``count`` similarity look-ups."""
    cache = SemanticCache(db, max_entries=10_000)
    time.sleep(max(0.0, start_at - time.time()))
    for i in range(count):
        if cache.get_commands(_similar_prompt(offset + i), P, M, S) is None:
            raise AssertionError("similarity look-up missed")
    cache.close()
    close_all_pools()
    return time.time()


def _ns_per_call(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter_ns()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter_ns() - started) / number)
    return best


def _ns_once(fn: Callable[[], object], number: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(number):
        fn()
    return (time.perf_counter_ns() - started) / number


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(workdir: Path) -> dict[str, dict[str, Any]]:  # noqa: PLR0915 - one section each
    """Run every measurement in ``workdir``; return ``{key: {value, unit}}``."""
    figures: dict[str, dict[str, Any]] = {}

    def put(key: str, value: float | int, unit: str, text: str) -> None:
        figures[key] = {"value": value, "unit": unit}
        print(f"  {text}")

    db = str(workdir / "cache.db")
    cache = _fill(db)

    print("1. exact hits, 100 threads")
    for prompt in _prompts():  # warm the in-memory exact hits
        cache.get_commands(prompt, P, M, S)
    pooled = _threads_rate(lambda p: cache.get_commands(p, P, M, S), THREADS, 2000)
    per_call_cache = PerCallConnectionCache(db)
    per_call = _threads_rate(lambda p: per_call_cache.get_commands(p, P, M, S), THREADS, 15)
    put("exact_hits_per_s_100_threads", round(pooled), "lookups/s", f"pooled: {pooled:,.0f}/s")
    put(
        "per_call_hits_per_s_100_threads",
        round(per_call),
        "lookups/s",
        f"per-call connections: {per_call:,.0f}/s",
    )
    put(
        "exact_hit_speedup_vs_per_call",
        round(pooled / per_call, 1),
        "x",
        f"speed-up: {pooled / per_call:.1f}x",
    )
    sql_only = SemanticCache(db, max_entries=10_000, read_through=False)
    through_sql = _threads_rate(lambda p: sql_only.get_commands(p, P, M, S), THREADS, 100)
    put(
        "sql_hits_per_s_100_threads",
        round(through_sql),
        "lookups/s",
        f"pooled without the in-memory hits: {through_sql:,.0f}/s",
    )

    print("2. similarity look-ups (exact miss, then the guarded search)")
    sim = SemanticCache(db, max_entries=10_000)
    count = 1500
    started = time.perf_counter()
    for i in range(count):
        sim.get_commands(_similar_prompt(i), P, M, S)
    one = count / (time.perf_counter() - started)
    eight = _threads_rate(lambda p: sim.get_commands(f"please {p} now", P, M, S), 8, count // 8)
    sim.flush()
    start_at = time.time() + 3.0  # after both children have started and opened the file
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as executor:
        futures = [
            executor.submit(_similarity_worker, db, count // 2, k * 1000, start_at)
            for k in range(2)
        ]
        ends = [f.result() for f in futures]
    two_processes = count / (max(ends) - start_at)
    put("similarity_per_s_1_thread", round(one), "lookups/s", f"one thread: {one:,.0f}/s")
    put("similarity_per_s_8_threads", round(eight), "lookups/s", f"8 threads: {eight:,.0f}/s")
    put(
        "similarity_per_s_2_processes",
        round(two_processes),
        "lookups/s",
        f"2 processes: {two_processes:,.0f}/s",
    )

    print("3. single-thread cost against a bare sqlite3 query on the same connection")
    system_hash = hashlib.sha256(S.encode()).hexdigest()
    prompt = _prompts()[7]
    pool = sql_only._pool  # the store's own pool: the bare query runs on its connection
    execute = sqlite3.Connection.execute  # the C method: no pool, no checks

    def bare_round() -> float:
        # Checked out and returned before the store's round: the store's next look-up
        # pops this same connection (the pool reuses the most recently returned one).
        with pool.get_connection() as conn:

            def bare_lookup() -> object:
                digest = hashlib.sha256(prompt.encode()).hexdigest()
                row = execute(conn, _EXACT_SQL, (P, M, system_hash, digest)).fetchone()
                return json.loads(row[1])

            return _ns_once(bare_lookup, SQL_PATH_CALLS)

    bare_runs: list[float] = []
    sql_runs: list[float] = []
    for _ in range(SQL_PATH_REPEATS):  # interleaved, so load on the machine hits both
        bare_runs.append(bare_round())
        sql_runs.append(_ns_once(lambda: sql_only.get_commands(prompt, P, M, S), SQL_PATH_CALLS))
    ratios = sorted(s / b for s, b in zip(sql_runs, bare_runs, strict=True))
    bare_ns, sql_ns = statistics.median(bare_runs), statistics.median(sql_runs)
    memo_ns = _ns_per_call(lambda: cache.get_commands(prompt, P, M, S), 50_000)
    put("bare_sqlite_ns", round(bare_ns), "ns/lookup", f"bare query: {bare_ns / 1000:.1f} us")

    def checkout() -> None:
        with pool.get_connection():
            pass

    checkout_ns = _ns_per_call(checkout, 5000)
    put(
        "store_default_ns",
        round(memo_ns),
        "ns/lookup",
        f"safe store as shipped (in-memory exact hits): {memo_ns / 1000:.2f} us",
    )
    put(
        "store_default_overhead",
        round(memo_ns / bare_ns, 2),
        "x",
        f"  = {memo_ns / bare_ns:.2f}x the bare query",
    )
    put(
        "store_sql_ns",
        round(sql_ns),
        "ns/lookup",
        f"safe store forced through SQL (read_through=False): {sql_ns / 1000:.1f} us",
    )
    put(
        "store_sql_overhead",
        round(statistics.median(ratios), 2),
        "x",
        f"  = {statistics.median(ratios):.2f}x the bare query on the same connection "
        f"(median of {SQL_PATH_REPEATS} interleaved rounds of {SQL_PATH_CALLS} calls)",
    )
    put("store_sql_overhead_min", round(ratios[0], 2), "x", f"  min {ratios[0]:.2f}x")
    put("store_sql_overhead_max", round(ratios[-1], 2), "x", f"  max {ratios[-1]:.2f}x")
    put(
        "store_sql_overhead_repeats",
        SQL_PATH_REPEATS,
        "rounds",
        f"  rounds: {SQL_PATH_REPEATS} x {SQL_PATH_CALLS} calls each side",
    )
    put(
        "pool_checkout_ns",
        round(checkout_ns),
        "ns/checkout",
        f"one empty pool checkout (context manager): {checkout_ns / 1000:.1f} us",
    )

    print("4. memory with every database open and 100 threads working")
    cache.flush()
    sql_only.flush()
    sim.flush()
    before = _rss_kib()
    memory = ContextMemory(str(workdir / "context_memory.db"))
    responses = ResponseCache(workdir / "response_cache.db")
    limits = LimitsDatabase(db_path=workdir / "limits.db")
    kv_db = CacheDatabase(db_path=workdir / "kv_cache.db")
    opened = 5  # cache.db plus the four above
    try:
        from cortex.installation_history import InstallationHistory  # noqa: PLC0415
        from cortex.transaction_history import TransactionHistory  # noqa: PLC0415

        TransactionHistory(db_path=workdir / "transaction_history.db")
        InstallationHistory(db_path=str(workdir / "history.db"))
    except ImportError:  # those modules are optional here: open their files directly
        for name in ("transaction_history.db", "history.db"):
            with get_connection_pool(workdir / name).get_connection() as conn:
                conn.execute("SELECT 1").fetchone()
    opened += 2
    limits.save(ResourceLimits.from_preset("bench", "inference"))
    responses.put("install git", "sudo apt install git")
    peak = before
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss_kib())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    prompts = _prompts()

    def work(index: int) -> None:
        for j in range(30):
            cache.get_commands(prompts[(index + j) % ENTRIES], P, M, S)
            if j % 10 == 0:
                memory.record_interaction(MemoryEntry(category="package", action="install x"))
                responses.get("install git")
                limits.get("bench")
                kv_db.list_pools()

    run_together(work, THREADS)
    stop.set()
    sampler.join()
    put("databases_open", opened, "databases", f"databases open: {opened}")
    put("rss_before_mib", round(before / 1024, 1), "MiB", f"VmRSS before: {before / 1024:.1f} MiB")
    put(
        "rss_peak_mib",
        round(peak / 1024, 1),
        "MiB",
        f"VmRSS peak, 100 threads working: {peak / 1024:.1f} MiB",
    )
    cache.close()
    close_all_pools()
    return dict(figures)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write the JSON; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "output",
        nargs="?",
        type=Path,
        default=None,
        help="JSON file to write (default: benchmarks/results/cache_<tag>.json)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="whole runs (default 3)")
    args = parser.parse_args(argv)
    facts = runtime_facts()
    if args.output is None:
        major_minor = "".join(facts.python_version.split(".")[:2])
        tag = f"cp{major_minor}{'t' if facts.free_threaded_build else ''}"
        args.output = ROOT / "benchmarks" / "results" / f"cache_{tag}.json"
    print(facts.banner())
    started = time.perf_counter()
    load_before = load_average()
    runs = []
    for run in range(1, args.repeats + 1):
        print(f"run {run} of {args.repeats}")
        with tempfile.TemporaryDirectory(prefix="cortex-cache-bench-") as tmp:
            runs.append(measure(Path(tmp)))
    load_after = load_average()
    figures = combine_runs(runs, load_before, load_after)
    targets = {
        "exact_hits_per_s_100_threads >= 50000": figures["exact_hits_per_s_100_threads"]["value"]
        >= 50_000,
        "exact_hit_speedup_vs_per_call >= 10": figures["exact_hit_speedup_vs_per_call"]["value"]
        >= 10,
        "store_default_overhead <= 1.2": figures["store_default_overhead"]["value"] <= 1.2,
        "store_sql_overhead <= 1.3": figures["store_sql_overhead"]["value"] <= 1.3,
    }
    document = {
        "runtime": facts.as_dict(),
        "banner": facts.banner(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "repeats": args.repeats,
        "load_average_before_after": [load_before, load_after],
        "figures": figures,
        "targets": targets,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    for name, met in targets.items():
        print(f"target {name}: {'met' if met else 'MISSED'}")
    print(f"wrote {args.output} in {document['seconds']} s [{facts.banner()}]")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
