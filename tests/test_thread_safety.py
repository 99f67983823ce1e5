"""Stress: many threads on every shared object at once. Exact counts, no hangs.

Run on a free-threaded build with ``PYTHON_GIL=0 python3.14t -m pytest
tests/test_thread_safety.py -v``. On GIL builds ``make stress`` runs them under ``pytest
--preempt`` (threads forced to switch between bytecodes of ``cortex``), several seeds.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

import cortex.hardware_detection as hw
from cortex.demos.harness import run_together
from cortex.demos.ledger import LEDGER
from cortex.runtime import load_settings, runtime_facts
from cortex.utils.thread_utils import LazySingleton, SingleFlight

pytestmark = pytest.mark.stress


def test_many_singletons_many_threads() -> None:
    holders = [LazySingleton(object) for _ in range(20)]
    seen = run_together(lambda i: [id(h.get()) for h in holders[i % 2 :: 2]], 100)
    even = {tuple(ids) for i, ids in enumerate(seen) if i % 2 == 0}
    odd = {tuple(ids) for i, ids in enumerate(seen) if i % 2 == 1}
    assert len(even) == 1
    assert len(odd) == 1


@pytest.mark.thread_unsafe(reason="checks the process-wide detector singleton")
def test_detector_settings_and_facts_from_100_threads() -> None:
    def work(_i: int) -> tuple[int, int, int]:
        detector = hw.get_detector()
        info = detector.detect()
        assert runtime_facts().cores >= 1
        return id(detector), id(info), load_settings().db_pool_size

    results = run_together(work, 100)
    assert len({r[0] for r in results}) == 1
    assert len({r[1] for r in results}) == 1
    assert {r[2] for r in results} == {5}
    assert hw.get_detector().detections == 1


def test_single_flight_from_100_threads() -> None:
    flight: SingleFlight[int, int] = SingleFlight()
    results = run_together(lambda i: flight.do(i % 8, lambda: i % 8), 100)
    assert sorted(set(results)) == list(range(8))
    assert flight.in_flight() == 0


# --------------------------------------------------------------------------------------
# Every shared object at once: 100 threads, one instance of each store, exact counts.
# --------------------------------------------------------------------------------------

THREADS = 100


@pytest.mark.thread_unsafe(reason="releases its own 100 threads on shared stores")
@pytest.mark.stress
def test_every_shared_object_at_once_from_100_threads(tmp_path: Path) -> None:  # noqa: PLR0915 - one scenario over every store
    from cortex.config_manager import ConfigManager
    from cortex.context_memory import ContextMemory, MemoryEntry
    from cortex.demos.spinner import PipeCapture, animation_threads
    from cortex.dependency_resolver import generate_index_text, parse_packages
    from cortex.installation_history import InstallationHistory, InstallationType
    from cortex.llm_router import LLMRouter
    from cortex.logging_system import CortexLogger
    from cortex.notification_manager import NotificationManager
    from cortex.parallel_llm import ParallelLLMExecutor, create_package_queries
    from cortex.progress_indicators import FallbackProgress
    from cortex.semantic_cache import SemanticCache
    from cortex.transaction_history import TransactionHistory, TransactionType
    from cortex.utils.db_pool import close_all_pools, get_connection_pool
    from tests.support.fakes import StaticProbe

    # Generous checkout waits: 100 threads share 5 connections per store, and under make
    # stress every instruction of cortex is slowed; the 5 s default is a latency bound.
    for name in ("tx.db", "history.db", "cache.db", "memory.db"):
        get_connection_pool(tmp_path / name, timeout=120.0)
    transactions = TransactionHistory(tmp_path / "tx.db", probe=StaticProbe())
    installs = InstallationHistory(str(tmp_path / "history.db"))
    cache = SemanticCache(str(tmp_path / "cache.db"))
    memory = ContextMemory(str(tmp_path / "memory.db"))
    config = ConfigManager(config_dir=tmp_path / "config")
    notifications = NotificationManager(
        config_dir=tmp_path / "notify",
        history_limit=1000,
        notifier=lambda _argv: True,
        clock=lambda: datetime(2026, 1, 15, 12, 0),  # outside the default DND window
    )
    logger = CortexLogger("stress", log_dir=tmp_path / "logs", console_level="CRITICAL")
    # a small generated index: the machine's apt lists are not the test's, and parsing them
    # instruction by instruction under pytest --preempt outlasts the timeout
    router = LLMRouter(
        environ={}, index=parse_packages(generate_index_text(300)), offline_latency=0
    )
    executor = ParallelLLMExecutor(router, max_concurrent=4, requests_per_second=0)
    spinner = FallbackProgress(stream=PipeCapture())
    spinner.start("working")
    prompts = [f"install package number {n}" for n in range(10)]
    for prompt in prompts:
        cache.put_commands(prompt, "offline", "m", "s", [f"apt-get install -y p{prompt[-1]}"])
    before = cache.stats()

    def add_one(prefs: dict[str, object]) -> dict[str, object]:
        prefs["counter"] = int(str(prefs.get("counter", 0))) + 1
        return prefs

    def work(i: int) -> int:
        tx = transactions.begin_transaction(TransactionType.INSTALL, [f"pkg{i}"], "apt install")
        transactions.complete_transaction(tx, True, None)
        installs.record_installation(
            InstallationType.INSTALL, [f"pkg{i}"], [f"apt-get install -y pkg{i}"], datetime.now()
        )
        hits = sum(
            cache.get_commands(prompts[(i + k) % 10], "offline", "m", "s") is not None
            for k in range(5)
        )
        assert cache.get_commands(f"remove unique thing {i}", "offline", "m", "s") is None
        memory.record_interaction(
            MemoryEntry(category="install", context=f"ctx {i}", action="apt install", result="ok")
        )
        config.update_preferences(add_one)
        notifications.send(f"title {i}", "message")
        logger.info(f"stress line {i}")
        router.complete([{"role": "user", "content": "install nginx"}])
        spinner.update(f"step {i}")
        if i % 10 == 0:  # ten threads share one executor, each with its own batch
            batch = executor.execute_batch(create_package_queries(["nginx", "redis"]))
            assert batch.success_count == 2
        return hits

    try:
        hits = run_together(work, THREADS, area="all stores at once")
        spinner.stop("done")
        logger.close()
        after = cache.stats()
        found = {
            "transactions": len(transactions.get_recent(limit=1000)),
            "installations": len(installs.get_history(limit=1000)),
            "cache hits": after.hits - before.hits,
            "cache misses": after.misses - before.misses,
            "memory entries": memory.get_statistics()["total_entries"],
            "preference updates": config.load_preferences()["counter"],
            "notifications": len(notifications.get_history()),
            "log lines": logger.text_log.read_text(encoding="utf-8").count("stress line "),
            "router requests": router.get_stats()["total_requests"],
        }
        expected = {
            "transactions": THREADS,
            "installations": THREADS,
            "cache hits": 5 * THREADS,
            "cache misses": THREADS,
            "memory entries": THREADS,
            "preference updates": THREADS,
            "notifications": THREADS,
            "log lines": THREADS,
            "router requests": THREADS + 2 * (THREADS // 10),
        }
        lost = sum(max(expected[k] - int(found[k]), 0) for k in expected)
        LEDGER.add("all stores at once", operations=sum(expected.values()), data_lost=lost)
        assert found == expected
        assert sum(hits) == 5 * THREADS
        assert animation_threads(spinner) == 0
    finally:
        spinner.stop()
        logger.close()
        cache.close()
        close_all_pools()
