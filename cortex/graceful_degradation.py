"""Graceful degradation: keep answering when the LLM is down.

A drop-in for upstream Cortex's ``cortex.graceful_degradation`` (same public names,
parameters, defaults and table: ``response_cache``). The fallback chain is unchanged: the
LLM, then an exact cached answer, then a similar cached answer, then local patterns, then
manual mode. What differs:

* **Failure counting and mode changes are atomic.** Upstream's ``self._api_failures += 1``
  and the mode switch that follows were separate unsynchronised steps, so concurrent
  failures were lost and the mode could be decided from a stale count. Here one lock
  guards the failure count, the mode, the forced mode and the last health check; each
  failure increments the count and recomputes the mode in the same critical section. No
  SQL and no LLM call runs while it is held.
* **A similar answer never crosses an action or a package set.** ``get_similar`` ranks by
  shared words like upstream, but only among entries whose
  :func:`~cortex.semantic_cache.extract_intent` (action and packages) equals the query's:
  ``remove vim`` is never answered with the cached reply to ``install vim``.
* The cache is on the per-file pool (:mod:`cortex.utils.db_pool`); it never changes a
  pooled connection's ``row_factory`` (upstream left ``sqlite3.Row`` set on connections
  that other modules then received). Hit counts are incremented in SQL, in the same
  transaction as the read.
* :func:`get_degradation_manager` is a :class:`~cortex.utils.thread_utils.LazySingleton`
  (upstream used a function attribute with check-then-act).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

from cortex.llm_router import providers_from_environment
from cortex.semantic_cache import extract_intent
from cortex.utils.store import Clock, SQLiteStore, StoreSchema, format_time, parse_time
from cortex.utils.thread_utils import LazySingleton

__all__ = [
    "APIStatus",
    "CachedResponse",
    "FallbackMode",
    "GracefulDegradation",
    "HealthCheckResult",
    "PatternMatcher",
    "ResponseCache",
    "get_degradation_manager",
    "process_with_fallback",
]

log = logging.getLogger(__name__)

_DEFAULT_DB_PATH = "~/.cortex/response_cache.db"
_STORE_SCHEMA = StoreSchema(
    name="response_cache",
    version=1,
    create=(
        "CREATE TABLE IF NOT EXISTS response_cache (query_hash TEXT PRIMARY KEY, "
        "query TEXT NOT NULL, response TEXT NOT NULL, "
        "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "
        "hit_count INTEGER DEFAULT 0, last_used TIMESTAMP)",
        "CREATE INDEX IF NOT EXISTS idx_last_used ON response_cache(last_used)",
    ),
)
"""Set up in one ``BEGIN IMMEDIATE`` transaction (:func:`cortex.utils.store.ensure_schema`)."""


class APIStatus(Enum):
    """What the last health check found."""

    AVAILABLE = "available"
    DEGRADED = "degraded"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


class FallbackMode(Enum):
    """How queries are answered right now."""

    FULL_AI = "full_ai"
    CACHED_ONLY = "cached_only"
    PATTERN_MATCHING = "pattern_matching"
    MANUAL_MODE = "manual_mode"


@dataclass
class HealthCheckResult:
    """One API health check."""

    status: APIStatus
    latency_ms: float | None = None
    error_message: str | None = None
    checked_at: datetime = field(default_factory=datetime.now)

    def is_healthy(self) -> bool:
        """True when the API answered normally."""
        return self.status == APIStatus.AVAILABLE


@dataclass
class CachedResponse:
    """A stored LLM answer."""

    query_hash: str
    query: str
    response: str
    created_at: datetime
    hit_count: int = 0
    last_used: datetime | None = None


def _parse_time(raw: Any) -> datetime | None:
    """A stored time: aware UTC for this module's rows, naive UTC for upstream's."""
    if not raw:
        return None
    try:
        return parse_time(str(raw))
    except ValueError:
        return None


_SELECT_RESPONSE = (
    "SELECT query_hash, query, response, created_at, hit_count, last_used "
    "FROM response_cache WHERE query_hash = ?"
)
_SELECT_MOST_USED_RESPONSES = (
    "SELECT query_hash, query, response, created_at, hit_count, last_used "
    "FROM response_cache ORDER BY hit_count DESC, created_at DESC LIMIT 200"
)


class ResponseCache(SQLiteStore):
    """LLM answers stored in SQLite for when the API is down.

    Times are stored in UTC (:func:`cortex.utils.store.format_time`); upstream's rows hold
    SQLite's ``CURRENT_TIMESTAMP`` (naive UTC) and are read and aged as such.

    Args:
        db_path: the database file; ``None`` means ``~/.cortex/response_cache.db``, or
            ``response_cache.db`` in ``CORTEX_DATA_DIR`` when that is set.
        clock: "now" for stored times and clean-ups; default UTC now.

    Raises:
        DatabaseFileError: the file is not a SQLite database (left untouched) or its
            directory cannot be created.
    """

    def __init__(self, db_path: Path | str | None = None, *, clock: Clock | None = None) -> None:
        super().__init__(db_path, default=_DEFAULT_DB_PATH, schema=_STORE_SCHEMA, clock=clock)
        self.db_path = self._pool_handle.db_path

    @staticmethod
    def _hash_query(query: str) -> str:
        """Upstream's key (so existing rows still match): case and outer spaces ignored."""
        return hashlib.sha256(query.lower().strip().encode("utf-8")).hexdigest()[:16]

    @staticmethod
    def _response(row: tuple[Any, ...]) -> CachedResponse:
        return CachedResponse(
            query_hash=str(row[0]),
            query=str(row[1]),
            response=str(row[2]),
            created_at=_parse_time(row[3]) or datetime.now(),
            hit_count=int(row[4] or 0),
            last_used=_parse_time(row[5]),
        )

    def get(self, query: str) -> CachedResponse | None:
        """The stored answer for ``query`` (its hit count incremented), or ``None``."""
        query_hash = self._hash_query(query)
        with self._pool.transaction() as conn:
            updated = conn.execute(
                "UPDATE response_cache SET hit_count = hit_count + 1, last_used = ? "
                "WHERE query_hash = ?",
                (format_time(self._now()), query_hash),
            ).rowcount
            if not updated:
                return None
            row = conn.execute(_SELECT_RESPONSE, (query_hash,)).fetchone()
        return self._response(row)

    def put(self, query: str, response: str) -> CachedResponse:
        """Store (or replace) the answer for ``query``."""
        query_hash = self._hash_query(query)
        now = format_time(self._now())
        with self._pool.get_connection() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO response_cache "
                "(query_hash, query, response, created_at, hit_count, last_used) "
                "VALUES (?, ?, ?, ?, 0, NULL)",
                (query_hash, query, response, now),
            )
        return CachedResponse(query_hash, query, response, _parse_time(now) or self._now())

    def get_similar(self, query: str, limit: int = 5) -> list[CachedResponse]:
        """Stored answers to queries with the same action and packages, most shared words first.

        Considers the 200 most used entries, like upstream's 100 with a larger window.
        """
        intent = extract_intent(query)
        words = set(query.lower().split())
        with self._pool.get_connection() as conn:
            rows = conn.execute(_SELECT_MOST_USED_RESPONSES).fetchall()
        scored: list[tuple[int, CachedResponse]] = []
        for row in rows:
            other = extract_intent(str(row[1]))
            if (other.action, other.packages) != (intent.action, intent.packages):
                continue  # never answer a removal with an install, or nginx with apache2
            overlap = len(words & set(str(row[1]).lower().split()))
            if overlap:
                scored.append((overlap, self._response(row)))
        scored.sort(key=lambda pair: pair[0], reverse=True)
        return [response for _, response in scored[:limit]]

    def clear_old_entries(self, days: int = 30) -> int:
        """Delete entries created more than ``days`` days ago; return how many went."""
        cutoff = format_time(self._now() - timedelta(days=days))
        with self._pool.get_connection() as conn:
            # julianday() reads both forms (this module's aware text and upstream's
            # CURRENT_TIMESTAMP), so old and new rows age alike.
            return int(
                conn.execute(
                    "DELETE FROM response_cache WHERE julianday(created_at) < julianday(?)",
                    (cutoff,),
                ).rowcount
            )

    def get_stats(self) -> dict[str, Any]:
        """``total_entries``, ``total_hits`` and ``db_size_kb``."""
        with self._pool.get_connection() as conn:
            total, hits = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(hit_count), 0) FROM response_cache"
            ).fetchone()
        try:
            size_kb = self.db_path.stat().st_size / 1024
        except OSError:
            size_kb = 0.0
        return {"total_entries": int(total), "total_hits": int(hits), "db_size_kb": size_kb}


class PatternMatcher:
    """Turns common requests into apt commands without an LLM.

    Uses :func:`~cortex.semantic_cache.extract_intent`, so the verb decides the command:
    ``install docker`` maps to the packages below, ``remove vim`` to ``apt remove``.
    """

    KNOWN_PACKAGES: ClassVar[dict[str, str]] = {
        "node": "nodejs npm",
        "nodejs": "nodejs npm",
        "python": "python3 python3-pip python3-venv",
        "python3": "python3 python3-pip python3-venv",
        "docker": "docker.io docker-compose",
        "nginx": "nginx",
        "apache": "apache2",
        "apache2": "apache2",
        "postgres": "postgresql postgresql-contrib",
        "postgresql": "postgresql postgresql-contrib",
        "mysql": "mysql-server",
        "mariadb": "mariadb-server",
        "redis": "redis-server",
        "git": "git",
        "vim": "vim",
        "neovim": "neovim",
        "curl": "curl",
        "wget": "wget",
        "htop": "htop",
        "tmux": "tmux",
        "golang": "golang-go",
        "go": "golang-go",
        "java": "default-jdk",
        "openjdk": "default-jdk",
        "cuda": "nvidia-cuda-toolkit",
    }
    """Request word -> Debian packages installed for it."""

    _SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.\-]*$")

    def __init__(self) -> None:
        self._system_words = {"system", "all", "everything", "packages"}

    def _names(self, packages: str) -> list[str]:
        return [p for p in packages.split() if self._SAFE_NAME.match(p)]

    def match(self, query: str) -> dict[str, Any] | None:  # noqa: PLR0911 - one rule each
        """A command for ``query``, or ``None`` when no rule applies.

        Returns:
            A mapping with the keys ``matched`` (True), ``type`` (``"install"`` or
            ``"operation"``), ``command``, ``confidence`` and ``source``
            (``"pattern_matching"``).
        """
        intent = extract_intent(query)
        words = set(query.lower().split())
        names = self._names(intent.packages)
        if intent.action == "install" and names:
            known = [self.KNOWN_PACKAGES[n] for n in names if n in self.KNOWN_PACKAGES]
            if known and len(known) == len(names):
                command = "sudo apt install " + " ".join(dict.fromkeys(" ".join(known).split()))
                return self._result("install", command, 0.8)
            return self._result("install", "sudo apt install " + " ".join(names), 0.6)
        if intent.action in ("upgrade", "update") and (not names or words & self._system_words):
            return self._result("operation", "sudo apt update && sudo apt upgrade -y", 0.7)
        if intent.action == "clean":
            return self._result("operation", "sudo apt autoremove -y && sudo apt autoclean", 0.7)
        if intent.action == "list" and "installed" in words:
            return self._result("operation", "apt list --installed", 0.7)
        if not names:
            return None
        simple = {
            "remove": "sudo apt remove {}",
            "purge": "sudo apt purge {}",
            "search": "apt search {}",
            "show": "apt show {}",
            "upgrade": "sudo apt install --only-upgrade {}",
            "update": "sudo apt install --only-upgrade {}",
        }
        template = simple.get(intent.action)
        if template is None:
            return None
        return self._result("operation", template.format(" ".join(names)), 0.7)

    @staticmethod
    def _result(kind: str, command: str, confidence: float) -> dict[str, Any]:
        return {
            "matched": True,
            "type": kind,
            "command": command,
            "confidence": confidence,
            "source": "pattern_matching",
        }


_MANUAL_HELP = (
    "I couldn't process this request automatically. Use apt directly:\n"
    "  - apt search <package>         search for packages\n"
    "  - apt show <package>           show package details\n"
    "  - sudo apt install <package>   install a package"
)


class GracefulDegradation:
    """The fallback chain, with its failure count and mode kept consistent under threads.

    Args:
        cache: where answers are stored; ``None`` opens the default :class:`ResponseCache`.
        health_check_interval: seconds between health checks the caller intends (stored,
            as upstream; :meth:`check_api_health` is what changes the mode back).
        api_timeout: seconds above which a health check counts the API as degraded.
    """

    MAX_FAILURES_BEFORE_FALLBACK = 3

    def __init__(
        self,
        cache: ResponseCache | None = None,
        health_check_interval: int = 60,
        api_timeout: float = 10.0,
    ) -> None:
        self.cache = cache or ResponseCache()
        self.pattern_matcher = PatternMatcher()
        self.health_check_interval = health_check_interval
        self.api_timeout = api_timeout
        # _lock guards the three attributes below; never held during SQL or an LLM call.
        self._lock = threading.Lock()
        self._api_failures = 0
        self._current_mode = FallbackMode.FULL_AI
        self._last_health_check: HealthCheckResult | None = None

    @property
    def current_mode(self) -> FallbackMode:
        """The mode queries are answered in now."""
        return self._current_mode  # one reference read: atomic

    def _mode_for(self, failures: int, cache_has_entries: bool) -> FallbackMode:
        if failures >= self.MAX_FAILURES_BEFORE_FALLBACK:
            return FallbackMode.CACHED_ONLY if cache_has_entries else FallbackMode.PATTERN_MATCHING
        if failures > 0:
            return FallbackMode.CACHED_ONLY
        return FallbackMode.FULL_AI

    def _record(self, healthy: bool, result: HealthCheckResult | None = None) -> None:
        """Count one success or failure and recompute the mode, atomically."""
        has_entries = healthy or self.cache.get_stats()["total_entries"] > 0  # SQL: unlocked
        with self._lock:
            self._api_failures = 0 if healthy else self._api_failures + 1
            self._current_mode = self._mode_for(self._api_failures, has_entries)
            if result is not None:
                self._last_health_check = result

    def check_api_health(self, api_check_fn: Callable[[], bool] | None = None) -> HealthCheckResult:
        """Check the API (``api_check_fn()``, or whether any real provider is configured).

        Without ``api_check_fn`` the answer is the router's:
        :func:`cortex.llm_router.providers_from_environment` (the one reader of the provider
        variables) configures at least one provider.

        A healthy answer resets the failure count; an unhealthy one or an exception adds
        one failure. Either way the mode is recomputed atomically with the count.
        """
        started = time.monotonic()
        try:
            if api_check_fn is not None:
                healthy = bool(api_check_fn())
            else:
                healthy = bool(providers_from_environment())
            latency = (time.monotonic() - started) * 1000
            if healthy:
                status = (
                    APIStatus.AVAILABLE if latency < self.api_timeout * 1000 else APIStatus.DEGRADED
                )
            else:
                status = APIStatus.UNAVAILABLE
            result = HealthCheckResult(status=status, latency_ms=latency)
        except Exception as exc:
            healthy = False
            result = HealthCheckResult(status=APIStatus.UNAVAILABLE, error_message=str(exc))
        self._record(healthy, result)
        return result

    def process_query(
        self, query: str, llm_fn: Callable[[str], str] | None = None
    ) -> dict[str, Any]:
        """Answer ``query`` through the fallback chain.

        Returns:
            ``query``, ``response``, ``command``, ``source`` (``llm``, ``cache``,
            ``cache_similar``, ``pattern_matching`` or ``manual_mode``), ``confidence``,
            ``mode`` and ``cached`` (plus ``similar_query`` for a similar answer).
        """
        mode = self._current_mode
        result: dict[str, Any] = {
            "query": query,
            "response": None,
            "command": None,
            "source": None,
            "confidence": 0.0,
            "mode": mode.value,
            "cached": False,
        }
        if llm_fn is not None and mode == FallbackMode.FULL_AI:
            try:
                response = llm_fn(query)
            except Exception as exc:
                log.warning("LLM call failed: %s", exc)
                self._record(False)
            else:
                self.cache.put(query, response)
                result.update(response=response, source="llm", confidence=1.0)
                return result

        cached = self.cache.get(query)
        if cached is not None:
            result.update(response=cached.response, source="cache", confidence=0.9, cached=True)
            return result
        similar = self.cache.get_similar(query, limit=1)
        if similar:
            result.update(
                response=similar[0].response,
                source="cache_similar",
                confidence=0.7,
                cached=True,
                similar_query=similar[0].query,
            )
            return result
        matched = self.pattern_matcher.match(query)
        if matched is not None:
            result.update(
                command=matched["command"],
                source="pattern_matching",
                confidence=matched["confidence"],
                response=f"Suggested command: {matched['command']}",
            )
            return result
        result.update(source="manual_mode", confidence=0.0, response=_MANUAL_HELP)
        return result

    def get_status(self) -> dict[str, Any]:
        """Mode, API status, failure count, cache figures and the last check's time."""
        stats = self.cache.get_stats()
        with self._lock:
            check = self._last_health_check
            return {
                "mode": self._current_mode.value,
                "api_status": check.status.value if check else "unknown",
                "api_failures": self._api_failures,
                "cache_entries": stats["total_entries"],
                "cache_hits": stats["total_hits"],
                "last_check": check.checked_at.isoformat() if check else None,
            }

    def force_mode(self, mode: FallbackMode) -> None:
        """Switch to ``mode`` now (the next health check or failure recomputes it)."""
        with self._lock:
            self._current_mode = mode

    def reset(self) -> None:
        """Back to full AI with no failures and no health check."""
        with self._lock:
            self._api_failures = 0
            self._current_mode = FallbackMode.FULL_AI
            self._last_health_check = None


_manager: LazySingleton[GracefulDegradation] = LazySingleton(
    GracefulDegradation, name="graceful_degradation.get_degradation_manager"
)


def get_degradation_manager() -> GracefulDegradation:
    """The process-wide :class:`GracefulDegradation`, created once on first use."""
    return _manager.get()


def process_with_fallback(query: str, llm_fn: Callable[[str], str] | None = None) -> dict[str, Any]:
    """``get_degradation_manager().process_query(query, llm_fn)``."""
    return get_degradation_manager().process_query(query, llm_fn)
