"""Graceful degradation: the fallback chain, exact failure counts, the singleton, the cache."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import cortex.graceful_degradation as gd
from cortex.demos.harness import run_python_processes, run_together
from cortex.demos.interleavings import show_race
from cortex.demos.shared_state import (
    UnsafeFailureTracker,
    failure_model,
    race_failures,
)
from cortex.llm_router import PROVIDER_ENVIRONMENT
from cortex.utils.db_pool import DatabaseFileError, close_all_pools, get_connection_pool

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the default cache lands here
    monkeypatch.delenv("CORTEX_DATA_DIR")  # (not in the session's shared data directory)
    for name in PROVIDER_ENVIRONMENT:  # no real provider configured
        monkeypatch.delenv(name, raising=False)
    yield
    close_all_pools()


@pytest.fixture
def cache(tmp_path: Path) -> gd.ResponseCache:
    return gd.ResponseCache(tmp_path / "responses.db")


def test_the_fallback_chain(cache: gd.ResponseCache) -> None:
    manager = gd.GracefulDegradation(cache=cache)
    answer = manager.process_query("install nginx", llm_fn=lambda q: f"sudo apt install {q[8:]}")
    assert (answer["source"], answer["response"]) == ("llm", "sudo apt install nginx")

    def down(_query: str) -> str:
        raise ConnectionError("API down")

    cached = manager.process_query("install nginx", llm_fn=down)
    assert (cached["source"], cached["cached"]) == ("cache", True)
    assert manager.current_mode == gd.FallbackMode.CACHED_ONLY
    similar = manager.process_query("please install nginx now")
    assert similar["source"] == "cache_similar"
    assert similar["similar_query"] == "install nginx"
    pattern = manager.process_query("install docker")
    assert (pattern["source"], pattern["command"]) == (
        "pattern_matching",
        "sudo apt install docker.io docker-compose",
    )
    assert manager.process_query("what is the meaning of life")["source"] == "manual_mode"


def test_a_removal_never_gets_a_cached_install(cache: gd.ResponseCache) -> None:
    cache.put("install vim", "sudo apt install vim")
    assert cache.get_similar("remove vim") == []
    manager = gd.GracefulDegradation(cache=cache)
    manager.force_mode(gd.FallbackMode.CACHED_ONLY)
    answer = manager.process_query("remove vim")
    assert (answer["source"], answer["command"]) == ("pattern_matching", "sudo apt remove vim")


def test_pattern_matcher_follows_the_verb() -> None:
    matcher = gd.PatternMatcher()
    assert matcher.match("setup python")["command"] == (  # type: ignore[index]
        "sudo apt install python3 python3-pip python3-venv"
    )
    assert matcher.match("update all packages")["command"] == (  # type: ignore[index]
        "sudo apt update && sudo apt upgrade -y"
    )
    assert matcher.match("uninstall htop")["command"] == "sudo apt remove htop"  # type: ignore[index]
    assert matcher.match("tell me a joke") is None


def test_health_checks_drive_the_mode(cache: gd.ResponseCache) -> None:
    manager = gd.GracefulDegradation(cache=cache)
    assert manager.check_api_health(lambda: True).is_healthy()
    for _ in range(3):
        assert not manager.check_api_health(lambda: False).is_healthy()
    assert manager.get_status()["mode"] == "pattern_matching"  # empty cache
    cache.put("install git", "sudo apt install git")
    manager.check_api_health(lambda: 1 / 0 == 0)
    assert manager.get_status()["mode"] == "cached_only"
    status = manager.get_status()
    assert (status["api_failures"], status["api_status"]) == (4, "unavailable")
    manager.reset()
    assert manager.get_status()["api_failures"] == 0
    assert manager.current_mode == gd.FallbackMode.FULL_AI
    assert not manager.check_api_health().is_healthy()  # no API key in the environment


@pytest.mark.parametrize(
    "variable", ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST"]
)
def test_the_health_check_asks_the_router_which_providers_are_configured(
    cache: gd.ResponseCache, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    manager = gd.GracefulDegradation(cache=cache)
    monkeypatch.setenv(variable, "http://127.0.0.1:9")  # never contacted
    assert manager.check_api_health().is_healthy()


@pytest.mark.stress
def test_failures_from_100_threads_are_all_counted(cache: gd.ResponseCache) -> None:
    manager = gd.GracefulDegradation(cache=cache)
    assert race_failures(manager, threads=100, checks=5) == 500
    assert manager.current_mode == gd.FallbackMode.PATTERN_MATCHING


@pytest.mark.twin
def test_the_unsafe_twin_loses_failures() -> None:
    model = failure_model(UnsafeFailureTracker)
    report = show_race(model, targets=["cortex.demos.shared_state"], budget=100)
    assert report.found, report.details()
    assert "1 counted" in report.error


@pytest.mark.stress
def test_32_threads_hit_counts_are_exact(cache: gd.ResponseCache) -> None:
    for i in range(8):
        cache.put(f"install pkg{i}", f"sudo apt install pkg{i}")

    def work(index: int) -> int:
        found = 0
        for j in range(10):
            found += cache.get(f"install pkg{(index + j) % 8}") is not None
            if j % 5 == 0:
                cache.put(f"install other{index}-{j}", "x")
        return found

    assert sum(run_together(work, 32)) == 320
    assert cache.get_stats()["total_hits"] == 320
    assert cache.get_stats()["total_entries"] == 8 + 64


_CHILD = """
import sys
from cortex.graceful_degradation import ResponseCache
cache = ResponseCache(sys.argv[1])
for j in range(20):
    cache.put(f"install proc{sys.argv[2]}-{j}", "answer")
    assert cache.get("install shared") is not None
"""


@pytest.mark.stress
def test_several_processes_share_the_response_cache(tmp_path: Path) -> None:
    db = tmp_path / "responses.db"
    gd.ResponseCache(db).put("install shared", "sudo apt install shared")
    outputs = run_python_processes(_CHILD, [[str(db), str(i)] for i in range(3)])
    assert [err for _out, err in outputs] == ["", "", ""]
    stats = gd.ResponseCache(db).get_stats()
    assert (stats["total_entries"], stats["total_hits"]) == (61, 60)


def test_pooled_connections_keep_the_default_row_factory(cache: gd.ResponseCache) -> None:
    cache.put("install curl", "sudo apt install curl")
    cache.get("install curl")
    cache.get_similar("install curl")
    with get_connection_pool(cache.db_path).get_connection() as conn:
        assert conn.row_factory is None


def test_the_manager_is_one_instance_across_100_threads() -> None:
    managers = run_together(lambda _i: gd.get_degradation_manager(), 100)
    assert len({id(m) for m in managers}) == 1
    assert gd.process_with_fallback("install redis")["source"] == "pattern_matching"


@pytest.mark.twin
def test_an_upstream_database_opens_without_loss(tmp_path: Path) -> None:
    db = tmp_path / "response_cache.db"
    with sqlite3.connect(db) as raw:
        raw.execute(
            "CREATE TABLE response_cache (query_hash TEXT PRIMARY KEY, query TEXT NOT NULL, "
            "response TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "
            "hit_count INTEGER DEFAULT 0, last_used TIMESTAMP)"
        )
        raw.execute(
            "INSERT INTO response_cache (query_hash, query, response, created_at, hit_count) "
            "VALUES (?, 'Install Nginx', 'sudo apt install nginx', '2020-01-01 10:00:00', 2)",
            (gd.ResponseCache._hash_query("install nginx"),),
        )
        raw.execute(
            "INSERT INTO response_cache (query_hash, query, response) VALUES ('h2', 'x', 'y')"
        )
    raw.close()
    cache = gd.ResponseCache(db)
    hit = cache.get("  INSTALL nginx ")
    assert hit is not None
    assert (hit.response, hit.hit_count) == ("sudo apt install nginx", 3)
    assert cache.clear_old_entries(days=30) == 1  # only the 2020 row is old
    assert cache.get_stats()["total_entries"] == 1


def test_a_corrupt_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    bad = tmp_path / "response_cache.db"
    content = b"SQLite format 2\x00" + b"\x07" * 2000
    bad.write_bytes(content)
    with pytest.raises(DatabaseFileError, match=str(bad)):
        gd.ResponseCache(bad)
    assert bad.read_bytes() == content
