"""Kernel features: every write committed, shared-memory segments cleaned up."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cortex.demos.harness import run_python_processes, run_together
from cortex.demos.shared_state import LostCommitLimitsDatabase
from cortex.kernel_features import accelerator_limits as al
from cortex.kernel_features import kv_cache_manager as kv
from cortex.utils.db_pool import DatabaseFileError, close_all_pools

ROOT = Path(__file__).resolve().parent.parent
SHM_DIR = Path("/dev/shm")


@pytest.fixture(autouse=True)
def _close_pools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # default databases land here
    monkeypatch.delenv("CORTEX_DATA_DIR")  # (not in the session's shared data directory)
    yield
    close_all_pools()


@pytest.fixture
def tag() -> Iterator[str]:
    """A unique pool-name prefix; every segment left with it is removed and reported."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield prefix
    leftovers = sorted(SHM_DIR.glob(f"{kv.SHM_PREFIX}{prefix}*")) if SHM_DIR.exists() else []
    for path in leftovers:
        path.unlink()
    assert not leftovers, f"segments left behind: {leftovers}"


def _read(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db, timeout=0.2) as raw:
        rows = raw.execute(sql, params).fetchall()
    raw.close()
    return rows


# -- accelerator limits ---------------------------------------------------------------


def test_a_saved_profile_is_committed_and_the_next_writer_is_not_locked(tmp_path: Path) -> None:
    db = tmp_path / "limits.db"
    limits = al.LimitsDatabase(db_path=db)
    limits.save(al.ResourceLimits.from_preset("llm", "inference", gpus=2))
    # A different connection sees it at once ...
    assert _read(db, "SELECT name FROM profiles") == [("llm",)]
    # ... and can write immediately: no transaction was left open.
    with sqlite3.connect(db, timeout=0.2) as raw:
        raw.execute("INSERT INTO profiles VALUES ('other', '{\"name\": \"other\"}')")
    raw.close()
    assert {p.name for p in limits.list_all()} == {"llm", "other"}


@pytest.mark.twin
def test_the_lost_commit_twin_hides_the_write_and_locks_the_next_writer(tmp_path: Path) -> None:
    db = tmp_path / "limits.db"
    twin = LostCommitLimitsDatabase(db)
    try:
        twin.save(al.ResourceLimits.from_preset("llm", "inference"))
        assert _read(db, "SELECT name FROM profiles") == []
        raw = sqlite3.connect(db, timeout=0.2)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"), raw:
                raw.execute("INSERT INTO profiles VALUES ('other', '{}')")
        finally:
            raw.close()
    finally:
        twin.close()


def test_profiles_presets_and_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manager = al.AcceleratorLimitsManager(db_path=tmp_path / "limits.db")
    training = al.ResourceLimits.from_preset("train", "training", gpus=2)
    assert (training.cpu_quota, training.memory_max, training.gpu_ids) == (
        1600.0,
        128 * 1024**3,
        [0, 1],
    )
    assert manager.create(training)
    assert manager.get_env("train") == {"CUDA_VISIBLE_DEVICES": "0,1"}
    assert manager.get_env("missing") == {}
    assert [p.name for p in manager.status()] == ["train"]
    assert "train" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown preset"):
        al.ResourceLimits.from_preset("x", "gaming")
    assert al.ResourceLimits("plain").gpu_ids == []
    assert {p.value for p in al.WorkloadPreset} == set(al.PRESETS)


@pytest.mark.stress
def test_32_threads_create_and_read_profiles(tmp_path: Path) -> None:
    manager = al.AcceleratorLimitsManager(db_path=tmp_path / "limits.db")

    def work(index: int) -> int:
        manager.create(al.ResourceLimits.from_preset(f"p{index:02d}", "batch", gpus=index % 3))
        assert manager.get_env(f"p{index:02d}") is not None
        return len(manager.db.list_all())

    run_together(work, 32)
    assert [p.name for p in manager.db.list_all()] == [f"p{i:02d}" for i in range(32)]


_CHILD = """
import sys
from cortex.kernel_features.accelerator_limits import LimitsDatabase, ResourceLimits
db = LimitsDatabase(db_path=sys.argv[1])
for j in range(20):
    db.save(ResourceLimits.from_preset(f"proc{sys.argv[2]}-{j}", "interactive"))
"""


@pytest.mark.stress
def test_several_processes_save_profiles(tmp_path: Path) -> None:
    db = tmp_path / "limits.db"
    al.LimitsDatabase(db_path=db)
    outputs = run_python_processes(_CHILD, [[str(db), str(i)] for i in range(3)])
    assert [err for _out, err in outputs] == ["", "", ""]
    assert _read(db, "SELECT COUNT(*) FROM profiles") == [(60,)]


@pytest.mark.twin
def test_upstream_limits_and_pools_open_without_loss(tmp_path: Path) -> None:
    limits_db, kv_db = tmp_path / "limits.db", tmp_path / "kv_cache.db"
    with sqlite3.connect(limits_db) as raw:
        raw.execute("CREATE TABLE profiles (name TEXT PRIMARY KEY, config TEXT)")
        config = {
            "name": "old",
            "preset": "training",
            "cpu_quota": 1600,
            "memory_max": 128000000000,
            "gpu_ids": [0, 1, 2],
            "oom_score_adj": -800,
        }
        raw.execute("INSERT INTO profiles VALUES ('old', ?)", (json.dumps(config),))
    raw.close()
    with sqlite3.connect(kv_db) as raw:
        raw.executescript(
            """
            CREATE TABLE pools (name TEXT PRIMARY KEY, config TEXT, shm_name TEXT);
            CREATE TABLE entries (seq_id INTEGER, pool TEXT, created REAL, accessed REAL,
                count INTEGER, tokens INTEGER, size INTEGER, offset INTEGER,
                PRIMARY KEY(seq_id, pool));
            CREATE TABLE stats (pool TEXT PRIMARY KEY, hits INTEGER DEFAULT 0,
                misses INTEGER DEFAULT 0);
            INSERT INTO pools VALUES ('llama', '{"name": "llama", "size_bytes": 1024,
                "policy": "lfu", "max_sequences": 1000}', 'cortex_kv_llama');
            INSERT INTO stats VALUES ('llama', 3, 4);
            """
        )
    raw.close()
    assert al.LimitsDatabase(db_path=limits_db).get("old") == al.ResourceLimits(**config)  # type: ignore[arg-type]
    found = kv.CacheDatabase(db_path=kv_db).get_pool("llama")
    assert found == (kv.CacheConfig("llama", 1024, "lfu", 1000), "cortex_kv_llama")
    assert _read(kv_db, "SELECT hits, misses FROM stats") == [(3, 4)]


def test_a_corrupt_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    for opener in (al.LimitsDatabase, kv.CacheDatabase):
        bad = tmp_path / f"{opener.__name__}.db"
        content = b"not a database at all\n" * 50
        bad.write_bytes(content)
        with pytest.raises(DatabaseFileError, match=str(bad)):
            opener(db_path=bad)
        assert bad.read_bytes() == content


# -- KV-cache pools -------------------------------------------------------------------


def test_create_status_destroy_a_pool(tmp_path: Path, tag: str) -> None:
    manager = kv.KVCacheManager(db_path=tmp_path / "kv.db")
    cfg = kv.CacheConfig(f"{tag}-a", 64 * 1024, "lfu")
    assert manager.create_pool(cfg)
    segment = SHM_DIR / f"{kv.SHM_PREFIX}{tag}-a"
    assert segment.exists()
    # Committed: another connection sees it, and another manager too.
    assert _read(tmp_path / "kv.db", "SELECT shm_name FROM pools") == [(segment.name,)]
    assert kv.KVCacheManager(db_path=tmp_path / "kv.db").status(cfg.name) == [cfg]
    assert tuple(manager.pools[cfg.name].get_usage()) == (64 * 1024, 0, 64 * 1024)
    assert manager.destroy_pool(cfg.name)
    assert not segment.exists()
    assert manager.db.list_pools() == []
    assert not manager.destroy_pool(cfg.name)
    with pytest.raises(ValueError, match="unknown policy"):
        manager.create_pool(kv.CacheConfig(f"{tag}-b", 1024, "random"))


def test_another_process_pool_is_destroyed_by_name(tmp_path: Path, tag: str) -> None:
    creator = kv.KVCacheManager(db_path=tmp_path / "kv.db")
    creator.create_pool(kv.CacheConfig(f"{tag}-x", 4096))
    creator.pools[f"{tag}-x"].close()  # as if the creating process had exited
    other = kv.KVCacheManager(db_path=tmp_path / "kv.db")
    assert other.destroy_pool(f"{tag}-x")
    assert not (SHM_DIR / f"{kv.SHM_PREFIX}{tag}-x").exists()


def test_shared_memory_attach_replace_and_destroy_twice(tag: str) -> None:
    first = kv.SharedMemoryPool(f"{tag}-s", 8192)
    first_buf = first.shm.buf
    assert first_buf is not None
    first_buf[0] = 42
    attached = kv.SharedMemoryPool(f"{tag}-s", 8192, create=False)
    attached_buf = attached.shm.buf
    assert attached_buf is not None
    assert attached_buf[0] == 42
    del first_buf, attached_buf  # release the exported buffers before closing
    attached.close()
    replacement = kv.SharedMemoryPool(f"{tag}-s", 8192)  # a stale segment is replaced
    assert bytes(replacement.shm.buf[:1]) == b"\x00"  # type: ignore[index]
    first.close()
    replacement.destroy()
    replacement.destroy()
    with pytest.raises(FileNotFoundError):
        kv.SharedMemoryPool(f"{tag}-s", 8192, create=False)
    with pytest.raises(ValueError, match="at least 1 byte"):
        kv.SharedMemoryPool(f"{tag}-z", 0)


@pytest.mark.stress
def test_32_threads_create_and_destroy_pools(tmp_path: Path, tag: str) -> None:
    manager = kv.KVCacheManager(db_path=tmp_path / "kv.db")

    def work(index: int) -> int:
        manager.create_pool(kv.CacheConfig(f"{tag}-{index:02d}", 4096, "fifo"))
        return len(manager.db.list_pools())

    run_together(work, 32)
    assert [c.name for c in manager.db.list_pools()] == [f"{tag}-{i:02d}" for i in range(32)]
    assert _read(tmp_path / "kv.db", "SELECT COUNT(*) FROM stats") == [(32,)]
    assert all(run_together(lambda i: manager.destroy_pool(f"{tag}-{i:02d}"), 32))
    assert manager.db.list_pools() == []
    assert manager.pools == {}
