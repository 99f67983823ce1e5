"""Named shared-memory KV-cache pools, with their configuration recorded in SQLite.

A drop-in for upstream Cortex's ``cortex.kernel_features.kv_cache_manager`` (same public
names, positional parameters and tables: ``pools``, ``entries``, ``stats`` in
``~/.cortex/kv_cache.db``). What differs:

* **Every write commits.** Upstream's pool neither committed nor rolled back, so a saved
  pool was invisible to every other connection and the next writer failed with "database
  is locked". Here each write is one :meth:`~cortex.utils.db_pool.SQLiteConnectionPool.transaction`
  that commits when it ends (or rolls back if it raised).
* :class:`KVCacheManager` guards its table of open segments with a lock, and a pool whose
  configuration cannot be recorded is destroyed instead of leaking its segment.
* Attaching to an existing segment does not hand it to this process's
  ``multiprocessing.resource_tracker`` (which would unlink it when this process exits, and
  warn), so only :meth:`SharedMemoryPool.destroy` removes a segment.
* The database location can be changed without touching the positional signatures: the
  keyword-only ``db_path`` of :class:`CacheDatabase` and :class:`KVCacheManager`, whose
  default is :func:`default_db_path`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from dataclasses import asdict, dataclass, fields
from enum import Enum
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any

from cortex.utils.store import SQLiteStore, StoreSchema, resolve_db_path

__all__ = [
    "SHM_PREFIX",
    "CacheConfig",
    "CacheDatabase",
    "CacheEntry",
    "CachePolicy",
    "KVCacheManager",
    "PoolUsage",
    "SharedMemoryPool",
    "default_db_path",
]

SHM_PREFIX = "cortex_kv_"
"""Prefix of every segment name (``/dev/shm/cortex_kv_<pool>`` on Linux)."""


_DEFAULT_DB_PATH = "~/.cortex/kv_cache.db"


def default_db_path() -> Path:
    """``~/.cortex/kv_cache.db``, or ``kv_cache.db`` in ``CORTEX_DATA_DIR`` when set.

    Read when a database is opened, not at import.
    """
    return resolve_db_path(None, _DEFAULT_DB_PATH)


class CachePolicy(Enum):
    """Eviction policy recorded with a pool."""

    LRU = "lru"
    LFU = "lfu"
    FIFO = "fifo"


@dataclass
class CacheConfig:
    """A pool's configuration, stored as JSON in ``pools.config``."""

    name: str
    size_bytes: int
    policy: str = "lru"
    max_sequences: int = 1000


@dataclass
class CacheEntry:
    """One cached sequence's bookkeeping (a row of ``entries``)."""

    sequence_id: int
    created_at: float
    last_accessed: float
    access_count: int
    token_count: int
    size_bytes: int
    offset: int


@dataclass(frozen=True)
class PoolUsage:
    """``(total, used, free)`` bytes of a segment, unpackable like upstream's tuple."""

    total: int
    used: int
    free: int

    def __iter__(self) -> Any:
        return iter((self.total, self.used, self.free))


_STORE_SCHEMA = StoreSchema(
    name="kv_cache",
    version=1,
    create=(
        "CREATE TABLE IF NOT EXISTS pools (name TEXT PRIMARY KEY, config TEXT, shm_name TEXT)",
        "CREATE TABLE IF NOT EXISTS entries (seq_id INTEGER, pool TEXT, created REAL, "
        "accessed REAL, count INTEGER, tokens INTEGER, size INTEGER, offset INTEGER, "
        "PRIMARY KEY(seq_id, pool))",
        "CREATE TABLE IF NOT EXISTS stats (pool TEXT PRIMARY KEY, "
        "hits INTEGER DEFAULT 0, misses INTEGER DEFAULT 0)",
    ),
)
"""Set up in one ``BEGIN IMMEDIATE`` transaction (:func:`cortex.utils.store.ensure_schema`)."""


def _config_from_json(raw: str) -> CacheConfig:
    data = json.loads(raw)
    known = {f.name for f in fields(CacheConfig)}
    return CacheConfig(**{k: v for k, v in data.items() if k in known})


class CacheDatabase(SQLiteStore):
    """The ``pools``, ``entries`` and ``stats`` tables, on the shared per-file pool.

    Args:
        db_path: keyword only; ``None`` means :func:`default_db_path`.

    Raises:
        DatabaseFileError: the file is not a SQLite database (left untouched) or its
            directory cannot be created.
    """

    def __init__(self, *, db_path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(db_path, default=_DEFAULT_DB_PATH, schema=_STORE_SCHEMA)
        self.db_path = self._pool_handle.db_path

    def save_pool(self, cfg: CacheConfig, shm: str) -> None:
        """Record (or replace) a pool and its segment name; committed on return."""
        with self._pool.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO pools (name, config, shm_name) VALUES (?, ?, ?)",
                (cfg.name, json.dumps(asdict(cfg)), shm),
            )
            conn.execute("INSERT OR IGNORE INTO stats (pool) VALUES (?)", (cfg.name,))

    def get_pool(self, name: str) -> tuple[CacheConfig, str] | None:
        """``(config, segment name)`` of a recorded pool, or ``None``."""
        with self._pool.get_connection() as conn:
            row = conn.execute(
                "SELECT config, shm_name FROM pools WHERE name = ?", (name,)
            ).fetchone()
        return (_config_from_json(row[0]), str(row[1] or "")) if row else None

    def list_pools(self) -> list[CacheConfig]:
        """Every recorded pool, by name."""
        with self._pool.get_connection() as conn:
            rows = conn.execute("SELECT config FROM pools ORDER BY name").fetchall()
        return [_config_from_json(row[0]) for row in rows]

    def delete_pool(self, name: str) -> bool:
        """Forget a pool, its entries and its counters in one transaction.

        Returns:
            True when the pool was recorded.
        """
        with self._pool.transaction() as conn:
            conn.execute("DELETE FROM entries WHERE pool = ?", (name,))
            conn.execute("DELETE FROM stats WHERE pool = ?", (name,))
            return conn.execute("DELETE FROM pools WHERE name = ?", (name,)).rowcount > 0


def _attach(segment: str) -> shared_memory.SharedMemory:
    """Open an existing segment without making this process responsible for unlinking it."""
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=segment, track=False)
    shm = shared_memory.SharedMemory(name=segment)
    from multiprocessing import resource_tracker  # noqa: PLC0415 - only before 3.13

    resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
    return shm


class SharedMemoryPool:
    """One named POSIX shared-memory segment of ``size`` bytes.

    Args:
        name: the pool name; the segment is ``SHM_PREFIX + name``.
        size: bytes to reserve (at least 1).
        create: create the segment (replacing a stale one left by a crashed process, as
            upstream did) or, when False, attach to an existing one.

    Raises:
        FileNotFoundError: ``create=False`` and no such segment exists.
        ValueError: ``size`` below 1.
    """

    def __init__(self, name: str, size: int, create: bool = True) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least 1 byte, not {size}")
        self.name = f"{SHM_PREFIX}{name}"
        self.size = size
        # _lock guards _destroyed: destroy() may be called from several threads.
        self._lock = threading.Lock()
        self._destroyed = False
        if not create:
            self.shm = _attach(self.name)
            return
        try:
            self.shm = shared_memory.SharedMemory(name=self.name, create=True, size=size)
        except FileExistsError:
            stale = _attach(self.name)
            stale.close()
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
            self.shm = shared_memory.SharedMemory(name=self.name, create=True, size=size)

    def get_usage(self) -> PoolUsage:
        """``(total, used, free)`` bytes.

        This manager reserves segments; the inference engine that fills one keeps its own
        allocation table, so ``used`` is 0 here (upstream returned the size and zeros).
        """
        return PoolUsage(self.size, 0, self.size)

    def destroy(self) -> None:
        """Close and unlink the segment (once; later calls do nothing)."""
        with self._lock:
            if self._destroyed:
                return
            self._destroyed = True
        self.shm.close()
        with contextlib.suppress(FileNotFoundError):
            self.shm.unlink()

    def close(self) -> None:
        """Detach from the segment without removing it."""
        with self._lock:
            if self._destroyed:
                return
            self._destroyed = True
        self.shm.close()


class KVCacheManager:
    """Creates, destroys and lists pools; safe to share between threads.

    Args:
        db_path: keyword only; where pools are recorded (default :func:`default_db_path`).
    """

    def __init__(self, *, db_path: str | os.PathLike[str] | None = None) -> None:
        self.db = CacheDatabase(db_path=db_path)
        # _lock guards `pools` and serialises create/destroy of segments in this manager.
        self._lock = threading.Lock()
        self.pools: dict[str, SharedMemoryPool] = {}

    def create_pool(self, cfg: CacheConfig) -> bool:
        """Create the segment and record it; a pool of the same name is replaced.

        Raises:
            ValueError: an unknown policy or a size below 1 (nothing is created).
        """
        policies = {p.value for p in CachePolicy}
        if cfg.policy not in policies:
            raise ValueError(f"unknown policy {cfg.policy!r}: expected one of {sorted(policies)}")
        with self._lock:
            old = self.pools.pop(cfg.name, None)
            if old is not None:
                old.destroy()
            pool = SharedMemoryPool(cfg.name, cfg.size_bytes)
            try:
                self.db.save_pool(cfg, pool.name)
            except BaseException:
                pool.destroy()  # no record, no segment
                raise
            self.pools[cfg.name] = pool
        print(f"Created cache pool '{cfg.name}' ({cfg.size_bytes / 1e9:.1f} GB, {cfg.policy})")
        return True

    def destroy_pool(self, name: str) -> bool:
        """Unlink the pool's segment (even one created by another process) and forget it.

        Returns:
            True when the pool existed (in this manager or in the database).
        """
        with self._lock:
            pool = self.pools.pop(name, None)
            recorded = self.db.get_pool(name)
            if pool is not None:
                pool.destroy()
            elif recorded is not None and recorded[1]:
                with contextlib.suppress(FileNotFoundError):
                    orphan = _attach(recorded[1])
                    orphan.close()
                    orphan.unlink()
            deleted = self.db.delete_pool(name)
        if pool is not None or deleted:
            print(f"Destroyed pool '{name}'")
            return True
        return False

    def status(self, name: str | None = None) -> list[CacheConfig]:
        """Print a table of one pool or all of them, and return their configurations."""
        if name is None:
            configs = self.db.list_pools()
        else:
            found = self.db.get_pool(name)
            configs = [found[0]] if found else []
        print(f"\n{'POOL':<20} {'SIZE':<12} {'POLICY':<10}")
        print("-" * 50)
        for cfg in configs:
            print(f"{cfg.name:<20} {cfg.size_bytes / 1e9:<12.1f} {cfg.policy:<10}")
        return configs
