"""Runtime facts and settings: what interpreter is running, and how Cortex is configured.

Two things live here, because every benchmark, notebook and ``cortex doctor`` report needs
both side by side:

* :class:`RuntimeFacts` -- the interpreter version, whether it is a free-threaded build,
  whether the GIL is enabled *right now* (an extension module can switch it back on), and
  how many cores this process may use.
* :class:`Settings` -- the ``CORTEX_*`` environment variables, each with a default and an
  accepted range, validated in one place. A bad value raises :class:`SettingsError`, which
  names the variable, the value and what would have been accepted.

Both are immutable snapshots: read them again (they are cheap) rather than sharing a
mutable object between threads.
"""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = [
    "SETTINGS",
    "RuntimeFacts",
    "SettingSpec",
    "Settings",
    "SettingsError",
    "load_settings",
    "runtime_facts",
]


# --------------------------------------------------------------------------------------
# Runtime facts
# --------------------------------------------------------------------------------------


def _usable_cores() -> int:
    """Cores this process may run on (affinity-aware), never less than 1."""
    process_cpu_count = getattr(os, "process_cpu_count", None)  # 3.13+
    if process_cpu_count is not None:
        count = process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - non-Linux
        count = os.cpu_count()
    return max(1, count or 1)


@dataclass(frozen=True)
class RuntimeFacts:
    """Facts about the running interpreter that decide how far threads can scale."""

    implementation: str
    """``CPython``, ``PyPy``, ..."""
    python_version: str
    """Full version, e.g. ``3.14.0``."""
    executable: str
    """Path of the running interpreter."""
    free_threaded_build: bool
    """True when the interpreter was built with ``--disable-gil`` (``Py_GIL_DISABLED``)."""
    gil_enabled: bool
    """True when the GIL is on now; a free-threaded build re-enables it for some extensions."""
    cores: int
    """Cores usable by this process (CPU affinity respected)."""
    machine: str
    """CPU architecture, e.g. ``x86_64``."""

    @property
    def build_label(self) -> str:
        """``"free-threaded build"`` or ``"GIL build"``."""
        return "free-threaded build" if self.free_threaded_build else "GIL build"

    @property
    def parallel_threads(self) -> bool:
        """True when Python threads can run bytecode on several cores at once."""
        return self.free_threaded_build and not self.gil_enabled

    def banner(self) -> str:
        """One line to print next to every measured figure.

        Example: ``CPython 3.13.0, GIL build, GIL on, 2 cores, x86_64``.
        """
        gil = "GIL on" if self.gil_enabled else "GIL off"
        return (
            f"{self.implementation} {self.python_version}, {self.build_label}, {gil}, "
            f"{self.cores} cores, {self.machine}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The facts as a JSON-ready mapping (benchmark files store this)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def runtime_facts() -> RuntimeFacts:
    """Read the facts about the running interpreter now.

    Cheap enough to call before every measurement; the GIL state is read live because
    importing an extension that has not declared free-threading support switches it on.
    """
    is_gil_enabled: Callable[[], bool] | None = getattr(sys, "_is_gil_enabled", None)
    return RuntimeFacts(
        implementation=platform.python_implementation(),
        python_version=platform.python_version(),
        executable=sys.executable,
        free_threaded_build=bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        gil_enabled=True if is_gil_enabled is None else bool(is_gil_enabled()),
        cores=_usable_cores(),
        machine=platform.machine(),
    )


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


class SettingsError(ValueError):
    """A ``CORTEX_*`` environment variable holds a value outside its accepted range."""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(raw)


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return parse


def _float_in(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw.strip())
        if not low <= value <= high:  # also rejects nan
            raise ValueError(raw)
        return value

    return parse


def _directory(raw: str) -> str:
    """An absolute directory path (``~`` expanded); a path to a file is refused."""
    path = os.path.expanduser(raw)
    if not path or "\0" in path or not os.path.isabs(path):
        raise ValueError(raw)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(raw)
    return os.path.normpath(path)


@dataclass(frozen=True)
class SettingSpec:
    """How one environment variable is read: its default, its parser and what it does."""

    env_var: str
    """The environment variable, e.g. ``CORTEX_DB_POOL_SIZE``."""
    attribute: str
    """The :class:`Settings` attribute that holds the parsed value."""
    default: bool | int | float | None
    """Used when the variable is unset (``None``: the setting has no value then)."""
    accepted: str
    """Human description of the accepted values, quoted in errors and in the docs."""
    effect: str
    """What the setting changes."""
    parse: Callable[[str], Any] = field(repr=False, compare=False)


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "CORTEX_USE_FREE_THREADING",
        "use_free_threading",
        False,
        "a boolean: 1/0, true/false, yes/no, on/off (empty: off)",
        "Run parallel LLM batches on a thread pool even on a GIL build "
        "(the default on a free-threaded build).",
        _parse_bool,
    ),
    SettingSpec(
        "CORTEX_USE_ASYNC",
        "use_async",
        False,
        "a boolean: 1/0, true/false, yes/no, on/off (empty: off)",
        "Run parallel LLM batches on asyncio even on a free-threaded build "
        "(the default on a GIL build). Cannot be combined with CORTEX_USE_FREE_THREADING.",
        _parse_bool,
    ),
    SettingSpec(
        "CORTEX_THREAD_POOL_SIZE",
        "thread_pool_size",
        20,
        "an integer from 1 to 256",
        "Worker threads (or concurrent asyncio tasks) for parallel LLM queries. The default "
        "comes from the pool-size sweep on the performance page.",
        _int_in(1, 256),
    ),
    SettingSpec(
        "CORTEX_DB_POOL_SIZE",
        "db_pool_size",
        5,
        "an integer from 1 to 128",
        "Most SQLite connections kept open per database file.",
        _int_in(1, 128),
    ),
    SettingSpec(
        "CORTEX_RATE_LIMIT_RPS",
        "rate_limit_rps",
        5.0,
        "a number from 0 to 10000 (0 turns the limit off)",
        "Most LLM requests started per second, across all threads and event loops.",
        _float_in(0.0, 10_000.0),
    ),
    SettingSpec(
        "CORTEX_OFFLINE_LATENCY",
        "offline_latency",
        1.0,
        "a number of seconds from 0 to 60",
        "How long the offline LLM provider waits before answering, standing for a model's "
        "latency (used when no provider key or URL is set).",
        _float_in(0.0, 60.0),
    ),
    SettingSpec(
        "CORTEX_CACHE_MAX_ENTRIES",
        "cache_max_entries",
        500,
        "an integer from 1 to 10000000",
        "Entries the semantic cache keeps before evicting the least recently used.",
        _int_in(1, 10_000_000),
    ),
    SettingSpec(
        "CORTEX_CACHE_SIMILARITY_THRESHOLD",
        "cache_similarity_threshold",
        0.86,
        "a number from 0 to 1",
        "Lowest similarity at which the semantic cache serves a stored answer.",
        _float_in(0.0, 1.0),
    ),
    SettingSpec(
        "CORTEX_DATA_DIR",
        "data_dir",
        None,
        "an absolute directory path (~ allowed), not a file",
        "Directory holding every SQLite store (transaction and installation history, "
        "semantic cache, context memory, response cache, KV-cache and limits databases) "
        "under its default file name; created with mode 0700 when missing. Unset: each "
        "store's own default (~/.cortex, or /var/lib/cortex when writable). A path passed "
        "to a store's constructor still wins.",
        _directory,
    ),
)
"""Every ``CORTEX_*`` setting. The configuration reference documents exactly these."""


@dataclass(frozen=True)
class Settings:
    """Validated values of every ``CORTEX_*`` setting; build it with :func:`load_settings`.

    Defaults, ranges and effects live once, in :data:`SETTINGS`.
    """

    use_free_threading: bool
    use_async: bool
    thread_pool_size: int
    db_pool_size: int
    rate_limit_rps: float
    offline_latency: float
    cache_max_entries: int
    cache_similarity_threshold: float
    data_dir: str | None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where each value came from (``"env"`` or ``"default"``), keyed by environment variable."""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every ``CORTEX_*`` setting from ``environ`` (default: ``os.environ``).

    Raises:
        SettingsError: one or more variables hold a bad value. The message names each
            variable, the value found and the accepted range, e.g.
            ``CORTEX_DB_POOL_SIZE='-3' is invalid: expected an integer from 1 to 128``.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for spec in SETTINGS:
        raw = env.get(spec.env_var)
        if raw is None:
            values[spec.attribute] = spec.default
            sources[spec.env_var] = "default"
            continue
        sources[spec.env_var] = "env"
        try:
            values[spec.attribute] = spec.parse(raw)
        except ValueError:
            problems.append(f"{spec.env_var}={raw!r} is invalid: expected {spec.accepted}")
    if not problems and values["use_free_threading"] and values["use_async"]:
        problems.append(
            "CORTEX_USE_FREE_THREADING and CORTEX_USE_ASYNC are both on: choose one engine"
        )
    if problems:
        raise SettingsError("; ".join(problems))
    return Settings(**values, sources=sources)
