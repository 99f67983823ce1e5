"""Named resource-limit profiles for AI workloads (CPU quota, memory, GPUs, OOM score).

A drop-in for upstream Cortex's ``cortex.kernel_features.accelerator_limits`` (same public
names, positional parameters and table: ``profiles`` in ``~/.cortex/limits.db``). What
differs:

* **Every write commits** through the per-file pool (:mod:`cortex.utils.db_pool`); upstream's
  pooled version lost its commits, so a created profile was invisible and the next writer
  hit "database is locked".
* An unknown preset is an error naming the accepted ones (upstream silently used
  ``inference``), and stored profiles with extra keys still load.
* The database location can be changed without touching the positional signatures: the
  keyword-only ``db_path`` of :class:`LimitsDatabase` and :class:`AcceleratorLimitsManager`,
  whose default is :func:`default_db_path`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Any

from cortex.utils.store import SQLiteStore, StoreSchema, resolve_db_path

__all__ = [
    "PRESETS",
    "AcceleratorLimitsManager",
    "LimitsDatabase",
    "ResourceLimits",
    "WorkloadPreset",
    "default_db_path",
]

_GIB = 1024**3


_DEFAULT_DB_PATH = "~/.cortex/limits.db"


def default_db_path() -> Path:
    """``~/.cortex/limits.db``, or ``limits.db`` in ``CORTEX_DATA_DIR`` when set.

    Read when a database is opened, not at import.
    """
    return resolve_db_path(None, _DEFAULT_DB_PATH)


class WorkloadPreset(Enum):
    """Kinds of workload with a preset profile."""

    INFERENCE = "inference"
    TRAINING = "training"
    BATCH = "batch"
    INTERACTIVE = "interactive"


PRESETS: dict[str, dict[str, int]] = {
    "inference": {"cpu_quota": 400, "memory_gib": 32, "oom_score_adj": -500},
    "training": {"cpu_quota": 1600, "memory_gib": 128, "oom_score_adj": -800},
    "batch": {"cpu_quota": 800, "memory_gib": 64, "oom_score_adj": 0},
    "interactive": {"cpu_quota": 200, "memory_gib": 16, "oom_score_adj": -200},
}
"""Each preset's CPU quota (percent of one core), memory (GiB) and OOM score adjustment."""


@dataclass
class ResourceLimits:
    """A named profile; ``cpu_quota`` is in percent of one core, ``memory_max`` in bytes."""

    name: str
    preset: str = "inference"
    cpu_quota: float = 400.0
    memory_max: int = 32 * 1024**3
    gpu_ids: list[int] = None  # type: ignore[assignment]  # upstream's default
    oom_score_adj: int = 0

    def __post_init__(self) -> None:
        self.gpu_ids = list(self.gpu_ids or [])

    @classmethod
    def from_preset(cls, name: str, preset: str, gpus: int = 0) -> ResourceLimits:
        """A profile from a preset, with GPUs ``0 .. gpus-1``.

        Raises:
            ValueError: ``preset`` is not one of :data:`PRESETS`.
        """
        values = PRESETS.get(preset)
        if values is None:
            raise ValueError(f"unknown preset {preset!r}: expected one of {sorted(PRESETS)}")
        return cls(
            name,
            preset,
            float(values["cpu_quota"]),
            values["memory_gib"] * _GIB,
            list(range(gpus)),
            values["oom_score_adj"],
        )


_STORE_SCHEMA = StoreSchema(
    name="accelerator_limits",
    version=1,
    create=("CREATE TABLE IF NOT EXISTS profiles (name TEXT PRIMARY KEY, config TEXT)",),
)
"""Set up in one ``BEGIN IMMEDIATE`` transaction (:func:`cortex.utils.store.ensure_schema`)."""


def _limits_from_json(raw: str) -> ResourceLimits:
    data: dict[str, Any] = json.loads(raw)
    known = {f.name for f in fields(ResourceLimits)}
    return ResourceLimits(**{k: v for k, v in data.items() if k in known})


class LimitsDatabase(SQLiteStore):
    """The ``profiles`` table, on the shared per-file pool.

    Args:
        db_path: keyword only; ``None`` means :func:`default_db_path`.

    Raises:
        DatabaseFileError: the file is not a SQLite database (left untouched) or its
            directory cannot be created.
    """

    def __init__(self, *, db_path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(db_path, default=_DEFAULT_DB_PATH, schema=_STORE_SCHEMA)
        self.db_path = self._pool_handle.db_path

    def save(self, limits: ResourceLimits) -> None:
        """Record (or replace) a profile; committed on return."""
        with self._pool.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO profiles (name, config) VALUES (?, ?)",
                (limits.name, json.dumps(asdict(limits))),
            )

    def get(self, name: str) -> ResourceLimits | None:
        """The profile called ``name``, or ``None``."""
        with self._pool.get_connection() as conn:
            row = conn.execute("SELECT config FROM profiles WHERE name = ?", (name,)).fetchone()
        return _limits_from_json(row[0]) if row else None

    def list_all(self) -> list[ResourceLimits]:
        """Every profile, by name."""
        with self._pool.get_connection() as conn:
            rows = conn.execute("SELECT config FROM profiles ORDER BY name").fetchall()
        return [_limits_from_json(row[0]) for row in rows]


class AcceleratorLimitsManager:
    """Creates profiles and turns them into environment variables for a workload.

    Args:
        db_path: keyword only; where profiles are stored (default :func:`default_db_path`).
    """

    def __init__(self, *, db_path: str | os.PathLike[str] | None = None) -> None:
        self.db = LimitsDatabase(db_path=db_path)

    def close(self) -> None:
        """Release the profiles database (:meth:`cortex.utils.store.SQLiteStore.close`)."""
        self.db.close()

    def create(self, limits: ResourceLimits) -> bool:
        """Store a profile (replacing one of the same name)."""
        self.db.save(limits)
        print(f"Created profile '{limits.name}' (preset: {limits.preset})")
        return True

    def get_env(self, name: str) -> dict[str, str]:
        """``{"CUDA_VISIBLE_DEVICES": "0,1"}`` for the profile, or ``{}`` if there is none."""
        limits = self.db.get(name)
        if limits is None:
            return {}
        return {"CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in limits.gpu_ids)}

    def status(self) -> list[ResourceLimits]:
        """Print a table of every profile and return them."""
        profiles = self.db.list_all()
        print(f"\n{'NAME':<20} {'PRESET':<12} {'CPUS':<8} {'MEMORY':<10} {'GPUS':<10}")
        print("-" * 65)
        for p in profiles:
            gpus = ",".join(str(g) for g in p.gpu_ids) or "-"
            memory = f"{p.memory_max / _GIB:.0f}G"
            print(f"{p.name:<20} {p.preset:<12} {p.cpu_quota / 100:<8.0f} {memory:<10} {gpus:<10}")
        return profiles
