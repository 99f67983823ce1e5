"""Context memory: the API, one transaction per interaction, threads and processes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cortex.context_memory import ContextMemory, MemoryEntry
from cortex.demos.harness import run_python_processes, run_together
from cortex.demos.shared_state import UnsafeContextMemory
from cortex.utils.db_pool import DatabaseFileError, close_all_pools

pytestmark = pytest.mark.thread_unsafe(
    reason=(
        "the tests share one memory database through a fixture and assert exact counts; "
        "they release their own threads where concurrency is the point"
    )
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    close_all_pools()


@pytest.fixture
def memory(tmp_path: Path) -> ContextMemory:
    return ContextMemory(str(tmp_path / "memory.db"))


def _install(package: str, success: bool = True) -> MemoryEntry:
    return MemoryEntry(
        category="package",
        context=f"User wants to install {package}",
        action=f"install {package}",
        result="ok" if success else "failed",
        success=success,
        metadata={"packages": [package]},
    )


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as raw:
        value = int(raw.execute(sql).fetchone()[0] or 0)
    raw.close()
    return value


def test_the_whole_api_round_trips(memory: ContextMemory, tmp_path: Path) -> None:
    for _ in range(5):
        entry_id = memory.record_interaction(_install("docker"))
    assert entry_id > 0
    memory.record_interaction(_install("nginx", success=False))
    memory.record_interaction(
        MemoryEntry(category="package", context="User wants nginx", action="install nginx-full")
    )
    similar = memory.get_similar_interactions("install docker please", limit=3)
    assert len(similar) == 3
    assert all("docker" in e.action for e in similar)
    assert similar[0].metadata == {"packages": ["docker"]}

    patterns = memory.get_patterns(pattern_type="package", min_confidence=0.0)
    assert [(p.actions, p.frequency) for p in patterns] == [(["install docker"], 5)]

    suggestions = memory.generate_suggestions()
    kinds = {s.suggestion_type for s in suggestions}
    assert {"optimization", "alternative"} <= kinds
    active = memory.get_active_suggestions()
    assert len(active) == len({s.suggestion_id for s in suggestions})
    memory.dismiss_suggestion(active[0].suggestion_id)
    assert len(memory.get_active_suggestions()) == len(active) - 1
    assert memory.generate_suggestions(context="postgresql") == []

    memory.set_preference("editor", {"name": "vim"}, category="tools")
    memory.set_preference("editor", {"name": "nano"})
    assert memory.get_preference("editor") == {"name": "nano"}
    assert memory.get_preference("missing", default=3) == 3

    stats = memory.get_statistics()
    assert stats["total_entries"] == 7
    assert stats["by_category"] == {"package": 7}
    assert stats["success_rate"] == round(600 / 7, 2)
    assert stats["total_patterns"] == 1
    assert stats["recent_activity"] == 7

    out = tmp_path / "export.json"
    assert memory.export_memory(str(out)) == str(out)
    exported = json.loads(out.read_text())
    assert len(exported["entries"]) == 7
    assert len(exported["suggestions"]) == len(active) - 1
    memory.export_memory(str(out), include_dismissed=True)
    assert len(json.loads(out.read_text())["suggestions"]) == len(active)


def test_like_wildcards_in_the_context_are_literal(memory: ContextMemory) -> None:
    memory.record_interaction(MemoryEntry(category="command", context="abc", action="run abc"))
    assert memory.get_similar_interactions("%%% ___") == []


@pytest.mark.stress
def test_32_threads_pattern_frequency_equals_entries(memory: ContextMemory, tmp_path: Path) -> None:
    def work(index: int) -> int:
        for _ in range(4):
            memory.record_interaction(_install("docker"))
            memory.get_similar_interactions("docker")
        return int(memory.get_statistics()["total_entries"])

    run_together(work, 32)
    db = tmp_path / "memory.db"
    assert _count(db, "SELECT COUNT(*) FROM memory_entries") == 128
    assert memory.get_patterns(min_confidence=0.0)[0].frequency == 128


@pytest.mark.twin
@pytest.mark.stress
def test_the_two_transaction_twin_loses_pattern_updates(tmp_path: Path) -> None:
    db = tmp_path / "twin.db"
    twin = UnsafeContextMemory(db)

    def work(_index: int) -> None:
        for _ in range(4):
            twin.record_interaction(_install("docker"))

    run_together(work, 32)
    assert _count(db, "SELECT COUNT(*) FROM memory_entries") == 128
    assert _count(db, "SELECT frequency FROM patterns") < 128


def test_an_interaction_and_its_pattern_commit_together(
    memory: ContextMemory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory.record_interaction(_install("git"))

    def broken(*_args: object) -> None:
        raise RuntimeError("pattern analysis failed")

    monkeypatch.setattr(ContextMemory, "_update_pattern", broken)
    with pytest.raises(RuntimeError, match="pattern analysis failed"):
        memory.record_interaction(_install("git"))
    assert _count(tmp_path / "memory.db", "SELECT COUNT(*) FROM memory_entries") == 1


@pytest.mark.twin
def test_the_twin_leaves_an_entry_no_pattern_counts(tmp_path: Path) -> None:
    twin = UnsafeContextMemory(tmp_path / "twin.db")
    twin.fail_pattern_update = True
    with pytest.raises(RuntimeError):
        twin.record_interaction(_install("git"))
    assert _count(tmp_path / "twin.db", "SELECT COUNT(*) FROM memory_entries") == 1
    assert _count(tmp_path / "twin.db", "SELECT COUNT(*) FROM patterns") == 0


_CHILD = """
import sys
from cortex.context_memory import ContextMemory, MemoryEntry
memory = ContextMemory(sys.argv[1])
for _ in range(20):
    memory.record_interaction(MemoryEntry(category="package", action="install redis"))
"""


@pytest.mark.stress
def test_several_processes_record_into_one_database(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    ContextMemory(str(db))
    outputs = run_python_processes(_CHILD, [[str(db)] for _ in range(3)])
    assert [err for _out, err in outputs] == ["", "", ""]
    assert _count(db, "SELECT COUNT(*) FROM memory_entries") == 60
    assert _count(db, "SELECT frequency FROM patterns") == 60


@pytest.mark.twin
def test_an_upstream_database_opens_without_loss(tmp_path: Path) -> None:
    db = tmp_path / "context_memory.db"
    with sqlite3.connect(db) as raw:
        raw.executescript(
            """
            CREATE TABLE memory_entries (id INTEGER PRIMARY KEY AUTOINCREMENT,
                timestamp TEXT NOT NULL, category TEXT NOT NULL, context TEXT,
                action TEXT NOT NULL, result TEXT, success BOOLEAN DEFAULT 1,
                confidence REAL DEFAULT 1.0, frequency INTEGER DEFAULT 1, metadata TEXT,
                created_at TEXT DEFAULT CURRENT_TIMESTAMP);
            CREATE TABLE patterns (pattern_id TEXT PRIMARY KEY, pattern_type TEXT NOT NULL,
                description TEXT, frequency INTEGER DEFAULT 1, last_seen TEXT,
                confidence REAL DEFAULT 0.0, actions TEXT, context TEXT,
                created_at TEXT DEFAULT CURRENT_TIMESTAMP);
            CREATE TABLE suggestions (suggestion_id TEXT PRIMARY KEY,
                suggestion_type TEXT NOT NULL, title TEXT NOT NULL, description TEXT,
                confidence REAL DEFAULT 0.0, based_on TEXT,
                created_at TEXT DEFAULT CURRENT_TIMESTAMP, dismissed BOOLEAN DEFAULT 0);
            CREATE TABLE preferences (key TEXT PRIMARY KEY, value TEXT, category TEXT,
                updated_at TEXT DEFAULT CURRENT_TIMESTAMP);
            INSERT INTO memory_entries (timestamp, category, context, action, result,
                success, confidence, frequency, metadata)
                VALUES ('2025-12-01T10:00:00', 'package', 'User wants postgres',
                        'install postgresql', 'ok', 1, 1.0, 1, '{"packages": ["postgresql"]}');
            INSERT INTO patterns VALUES ('p1', 'package', 'Recurring pattern: x', 4,
                '2025-12-01T10:00:00', 0.9, '["install x"]', '{"category": "package"}',
                '2025-12-01 10:00:00');
            INSERT INTO suggestions VALUES ('s1', 'optimization', 'Old', 'kept', 0.9, '["1"]',
                '2025-12-01T10:00:00', 0);
            INSERT INTO preferences VALUES ('theme', '"dark"', 'general', '2025-12-01');
            """
        )
    raw.close()
    memory = ContextMemory(str(db))
    assert memory.get_similar_interactions("postgres")[0].metadata == {"packages": ["postgresql"]}
    assert memory.get_patterns()[0].frequency == 4
    assert memory.get_active_suggestions()[0].title == "Old"
    assert memory.get_preference("theme") == "dark"
    assert memory.get_statistics()["total_entries"] == 1


def test_a_corrupt_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    bad = tmp_path / "context_memory.db"
    content = b"\x00garbage, not sqlite\xff" * 64
    bad.write_bytes(content)
    with pytest.raises(DatabaseFileError, match=str(bad)):
        ContextMemory(str(bad))
    assert bad.read_bytes() == content
