"""The "AI memory": recorded interactions, the patterns mined from them, suggestions, preferences.

A drop-in for upstream Cortex's ``cortex.context_memory`` (same public names, parameters,
defaults and tables: ``memory_entries``, ``patterns``, ``suggestions``, ``preferences``;
an upstream database opens as it is). What differs:

* **An interaction and its pattern update are one transaction.** Upstream inserted the
  entry, committed, then analysed patterns in a second transaction on a second connection:
  a crash or an error between the two left an entry the patterns never counted, and two
  threads could write pattern frequencies out of order. Here
  :meth:`ContextMemory.record_interaction` takes the write lock up front
  (``BEGIN IMMEDIATE`` through :meth:`cortex.utils.db_pool.SQLiteConnectionPool.transaction`),
  inserts, recounts the matching entries and updates the pattern before committing: a
  pattern's ``frequency`` always equals the number of entries it summarises (within its
  30-day window), whatever the number of threads and processes.
* Every database access goes through the per-file pool (:mod:`cortex.utils.db_pool`), so
  each connection is used by one thread at a time and every block commits or rolls back;
  :class:`ContextMemory` is a :class:`~cortex.utils.store.SQLiteStore` (schema set up once
  with a recorded version, ``close()``, UTC times from an injectable clock).
* Rows are read by column name lists, never ``SELECT *`` positions, and ``LIKE`` patterns
  escape ``%`` and ``_`` from the user's text.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from cortex.utils.atomic_file import atomic_write_text
from cortex.utils.store import Clock, SQLiteStore, StoreSchema, format_time, utc_now

__all__ = ["ContextMemory", "MemoryEntry", "Pattern", "Suggestion"]

_DEFAULT_DB_PATH = "~/.cortex/context_memory.db"

PATTERN_WINDOW_DAYS = 30
"""Entries older than this do not count towards a pattern."""
PATTERN_MIN_OCCURRENCES = 3
"""A (category, action) pair becomes a pattern once it was recorded this many times."""

_STOPWORDS = frozenset(
    "the a an and or but in on at to for of with user wants want please my me i".split()  # noqa: SIM905
)
# Every statement is one literal (no SQL is built by string formatting; see
# tests/test_security.py). Optional filters are null-tolerant predicates on named parameters.
_SIMILAR_ENTRIES_SQL = (
    "SELECT id, timestamp, category, context, action, result, success, confidence, "
    "frequency, metadata FROM memory_entries "
    "WHERE EXISTS (SELECT 1 FROM json_each(:patterns) AS p "
    "WHERE memory_entries.context LIKE p.value ESCAPE '\\' "
    "OR memory_entries.action LIKE p.value ESCAPE '\\') "
    "ORDER BY timestamp DESC, id DESC LIMIT 500"
)
"""Entries whose context or action matches any of the JSON array ``:patterns`` (``LIKE``
patterns, ``\\`` escaping), newest first. ``json_each`` is built into SQLite 3.38+."""
_RECENT_ENTRIES_SQL = (
    "SELECT id, timestamp, category, context, action, result, success, confidence, "
    "frequency, metadata FROM memory_entries WHERE timestamp > ? "
    "ORDER BY timestamp DESC, id DESC LIMIT 50"
)
_ALL_ENTRIES_SQL = (
    "SELECT id, timestamp, category, context, action, result, success, confidence, "
    "frequency, metadata FROM memory_entries ORDER BY id"
)
_PATTERNS_SQL = (
    "SELECT pattern_id, pattern_type, description, frequency, last_seen, confidence, "
    "actions, context FROM patterns WHERE confidence >= :min_confidence "
    "AND (:pattern_type IS NULL OR pattern_type = :pattern_type) "
    "ORDER BY confidence DESC, frequency DESC, pattern_id"
)
"""Patterns at or above ``:min_confidence``, of type ``:pattern_type`` unless it is NULL."""
_ALL_PATTERNS_SQL = (
    "SELECT pattern_id, pattern_type, description, frequency, last_seen, confidence, "
    "actions, context FROM patterns ORDER BY pattern_id"
)
_ACTIVE_SUGGESTIONS_SQL = (
    "SELECT suggestion_id, suggestion_type, title, description, confidence, based_on, "
    "created_at FROM suggestions WHERE dismissed = 0 "
    "ORDER BY confidence DESC, created_at DESC LIMIT ?"
)
_EXPORTED_SUGGESTIONS_SQL = (
    "SELECT suggestion_id, suggestion_type, title, description, confidence, based_on, "
    "created_at FROM suggestions WHERE (:include_dismissed OR dismissed = 0) "
    "ORDER BY suggestion_id"
)
"""Every suggestion when ``:include_dismissed`` is 1, else only those not dismissed."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT NOT NULL,
    category TEXT NOT NULL,
    context TEXT,
    action TEXT NOT NULL,
    result TEXT,
    success BOOLEAN DEFAULT 1,
    confidence REAL DEFAULT 1.0,
    frequency INTEGER DEFAULT 1,
    metadata TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS patterns (
    pattern_id TEXT PRIMARY KEY,
    pattern_type TEXT NOT NULL,
    description TEXT,
    frequency INTEGER DEFAULT 1,
    last_seen TEXT,
    confidence REAL DEFAULT 0.0,
    actions TEXT,
    context TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS suggestions (
    suggestion_id TEXT PRIMARY KEY,
    suggestion_type TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    confidence REAL DEFAULT 0.0,
    based_on TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP,
    dismissed BOOLEAN DEFAULT 0
);
CREATE TABLE IF NOT EXISTS preferences (
    key TEXT PRIMARY KEY,
    value TEXT,
    category TEXT,
    updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_memory_category ON memory_entries(category);
CREATE INDEX IF NOT EXISTS idx_memory_timestamp ON memory_entries(timestamp);
CREATE INDEX IF NOT EXISTS idx_patterns_type ON patterns(pattern_type);
CREATE INDEX IF NOT EXISTS idx_suggestions_type ON suggestions(suggestion_type)
"""
_STORE_SCHEMA = StoreSchema(
    name="context_memory",
    version=1,
    create=tuple(statement for statement in _SCHEMA.split(";") if statement.strip()),
)
"""Set up in one ``BEGIN IMMEDIATE`` transaction (:func:`cortex.utils.store.ensure_schema`)."""


@dataclass
class MemoryEntry:
    """One recorded interaction.

    ``category`` is ``package``, ``command``, ``pattern``, ``preference`` or ``error`` by
    convention; ``timestamp`` defaults to now (local time, ISO 8601).
    """

    id: int | None = None
    timestamp: str = ""
    category: str = ""
    context: str = ""
    action: str = ""
    result: str = ""
    success: bool = True
    confidence: float = 1.0
    frequency: int = 1
    metadata: dict[str, Any] = None  # type: ignore[assignment]  # upstream's default

    def __post_init__(self) -> None:
        if not self.timestamp:
            self.timestamp = format_time(utc_now())
        self.metadata = self.metadata or {}


@dataclass
class Pattern:
    """A (category, action) pair recorded at least three times in the last 30 days."""

    pattern_id: str
    pattern_type: str
    description: str
    frequency: int
    last_seen: str
    confidence: float
    actions: list[str]
    context: dict[str, Any]


@dataclass
class Suggestion:
    """A suggestion generated from the memory (``optimization``, ``alternative``, ...)."""

    suggestion_id: str
    suggestion_type: str
    title: str
    description: str
    confidence: float
    based_on: list[str]
    created_at: str


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _loads(raw: str | None, default: Any) -> Any:
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ContextMemory(SQLiteStore):
    """Persistent memory of interactions, patterns, suggestions and preferences.

    Safe to share between threads, and between processes through SQLite. Times are stored
    in UTC (:func:`cortex.utils.store.format_time`); suggestions are keyed on the UTC date.

    Args:
        db_path: the database file (``~`` expanded; its directory is created). The default
            becomes ``context_memory.db`` in ``CORTEX_DATA_DIR`` when that is set.
        clock: "now" for windows, suggestions and preferences; default UTC now.

    Raises:
        DatabaseFileError: the file is not a SQLite database (it is left untouched) or its
            directory cannot be created.
    """

    def __init__(self, db_path: str = _DEFAULT_DB_PATH, *, clock: Clock | None = None) -> None:
        super().__init__(db_path, default=_DEFAULT_DB_PATH, schema=_STORE_SCHEMA, clock=clock)
        self.db_path = self._pool_handle.db_path

    # -- interactions ------------------------------------------------------------------

    def record_interaction(self, entry: MemoryEntry) -> int:
        """Store an interaction and update its pattern, atomically; return the entry's id.

        The insert and the pattern update commit together or not at all.
        """
        with self._pool.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO memory_entries (timestamp, category, context, action, result, "
                "success, confidence, frequency, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.timestamp,
                    entry.category,
                    entry.context,
                    entry.action,
                    entry.result,
                    1 if entry.success else 0,
                    entry.confidence,
                    entry.frequency,
                    json.dumps(entry.metadata or {}),
                ),
            )
            entry_id = int(cursor.lastrowid or 0)
            self._update_pattern(conn, entry)
        entry.id = entry_id
        return entry_id

    def _update_pattern(self, conn: sqlite3.Connection, entry: MemoryEntry) -> None:
        """Recount ``entry``'s (category, action) pair and upsert its pattern (same txn)."""
        cutoff = format_time(self._now() - timedelta(days=PATTERN_WINDOW_DAYS))
        count = int(
            conn.execute(
                "SELECT COUNT(*) FROM memory_entries WHERE category = ? AND action = ? "
                "AND timestamp > ?",
                (entry.category, entry.action, cutoff),
            ).fetchone()[0]
        )
        if count < PATTERN_MIN_OCCURRENCES:
            return
        pattern_id = _short_hash(f"{entry.category}:{entry.action}")
        conn.execute(
            "INSERT INTO patterns (pattern_id, pattern_type, description, frequency, "
            "last_seen, confidence, actions, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(pattern_id) DO UPDATE SET frequency = excluded.frequency, "
            "last_seen = MAX(COALESCE(last_seen, ''), excluded.last_seen), "
            "confidence = excluded.confidence",
            (
                pattern_id,
                entry.category,
                f"Recurring pattern: {entry.action}",
                count,
                entry.timestamp,
                min(1.0, count / 10.0),
                json.dumps([entry.action]),
                json.dumps({"category": entry.category}),
            ),
        )

    @staticmethod
    def _keywords(text: str) -> list[str]:
        words = re.findall(r"\w+", text.lower())
        return list(dict.fromkeys(w for w in words if w not in _STOPWORDS and len(w) > 2))

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> MemoryEntry:
        return MemoryEntry(
            id=int(row[0]),
            timestamp=str(row[1]),
            category=str(row[2]),
            context=row[3] or "",
            action=str(row[4]),
            result=row[5] or "",
            success=bool(row[6]),
            confidence=float(row[7] if row[7] is not None else 1.0),
            frequency=int(row[8] if row[8] is not None else 1),
            metadata=_loads(row[9], {}),
        )

    def get_similar_interactions(self, context: str, limit: int = 10) -> list[MemoryEntry]:
        """Past interactions sharing keywords with ``context``, best matches first.

        Ranked by how many keywords match (in the context or the action), then by recency.
        """
        keywords = self._keywords(context)
        if not keywords or limit <= 0:
            return []
        patterns = json.dumps([f"%{_escape_like(word)}%" for word in keywords])
        with self._pool.get_connection() as conn:
            rows = conn.execute(_SIMILAR_ENTRIES_SQL, {"patterns": patterns}).fetchall()
        entries = [self._entry(row) for row in rows]

        def score(entry: MemoryEntry) -> int:
            text = f"{entry.context} {entry.action}".lower()
            return sum(word in text for word in keywords)

        entries.sort(key=score, reverse=True)  # stable: recency kept among equal scores
        return entries[:limit]

    # -- patterns and suggestions ------------------------------------------------------

    def get_patterns(
        self, pattern_type: str | None = None, min_confidence: float = 0.5
    ) -> list[Pattern]:
        """Learned patterns at or above ``min_confidence``, most confident first."""
        params = {"min_confidence": min_confidence, "pattern_type": pattern_type or None}
        with self._pool.get_connection() as conn:
            rows = conn.execute(_PATTERNS_SQL, params).fetchall()
        return [
            Pattern(
                pattern_id=str(r[0]),
                pattern_type=str(r[1]),
                description=r[2] or "",
                frequency=int(r[3] or 0),
                last_seen=r[4] or "",
                confidence=float(r[5] or 0.0),
                actions=_loads(r[6], []),
                context=_loads(r[7], {}),
            )
            for r in rows
        ]

    def generate_suggestions(self, context: str | None = None) -> list[Suggestion]:
        """Build suggestions from the last week's entries and the patterns, and store them.

        Three kinds: ``optimization`` (a package installed three times or more recently;
        a pattern seen five times or more with confidence above 0.8) and ``alternative``
        (a failed action for which a similar successful one exists). With ``context``,
        only suggestions mentioning one of its keywords are kept. A suggestion already
        stored today (same kind and subject) is not duplicated.
        """
        since = format_time(self._now() - timedelta(days=7))
        with self._pool.get_connection() as conn:
            rows = conn.execute(_RECENT_ENTRIES_SQL, (since,)).fetchall()
        recent = [self._entry(row) for row in rows]
        now = self._now()
        suggestions: list[Suggestion] = []

        installs = Counter(e.action for e in recent if e.category == "package")
        for action, count in installs.items():
            if count >= 3:
                suggestions.append(
                    Suggestion(
                        suggestion_id=_short_hash(f"optimization:{action}:{now.date()}"),
                        suggestion_type="optimization",
                        title=f"Frequent installation: {action}",
                        description=(
                            f"You ran '{action}' {count} times recently; consider adding it "
                            "to your default setup."
                        ),
                        confidence=min(1.0, count / 5.0),
                        based_on=[str(e.id) for e in recent if e.action == action],
                        created_at=format_time(now),
                    )
                )
        for failed in (e for e in recent if not e.success):
            similar = self.get_similar_interactions(failed.context or failed.action, limit=5)
            better = [s for s in similar if s.success and s.action != failed.action]
            if better:
                suggestions.append(
                    Suggestion(
                        suggestion_id=_short_hash(f"alternative:{failed.action}:{now.date()}"),
                        suggestion_type="alternative",
                        title=f"Alternative to: {failed.action}",
                        description=f"This worked before in a similar case: {better[0].action}",
                        confidence=0.7,
                        based_on=[str(failed.id), str(better[0].id)],
                        created_at=format_time(now),
                    )
                )
        for pattern in self.get_patterns(min_confidence=0.8):
            if pattern.confidence > 0.8 and pattern.frequency >= 5:
                suggestions.append(
                    Suggestion(
                        suggestion_id=_short_hash(f"proactive:{pattern.pattern_id}:{now.date()}"),
                        suggestion_type="optimization",
                        title=f"Automate: {pattern.description}",
                        description=(
                            f"You did this {pattern.frequency} times; it could be automated."
                        ),
                        confidence=pattern.confidence,
                        based_on=[pattern.pattern_id],
                        created_at=format_time(now),
                    )
                )
        if context:
            words = self._keywords(context)
            suggestions = [
                s
                for s in suggestions
                if any(w in f"{s.title} {s.description}".lower() for w in words)
            ]
        if suggestions:
            with self._pool.transaction() as conn:
                conn.executemany(
                    "INSERT OR IGNORE INTO suggestions (suggestion_id, suggestion_type, title, "
                    "description, confidence, based_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            s.suggestion_id,
                            s.suggestion_type,
                            s.title,
                            s.description,
                            s.confidence,
                            json.dumps(s.based_on),
                            s.created_at,
                        )
                        for s in suggestions
                    ],
                )
        return suggestions

    @staticmethod
    def _suggestion(row: tuple[Any, ...]) -> Suggestion:
        return Suggestion(
            suggestion_id=str(row[0]),
            suggestion_type=str(row[1]),
            title=str(row[2]),
            description=row[3] or "",
            confidence=float(row[4] or 0.0),
            based_on=_loads(row[5], []),
            created_at=row[6] or "",
        )

    def get_active_suggestions(self, limit: int = 10) -> list[Suggestion]:
        """Suggestions not dismissed, most confident (then newest) first."""
        with self._pool.get_connection() as conn:
            rows = conn.execute(_ACTIVE_SUGGESTIONS_SQL, (limit,)).fetchall()
        return [self._suggestion(row) for row in rows]

    def dismiss_suggestion(self, suggestion_id: str) -> None:
        """Hide a suggestion from :meth:`get_active_suggestions`."""
        with self._pool.get_connection() as conn:
            conn.execute(
                "UPDATE suggestions SET dismissed = 1 WHERE suggestion_id = ?", (suggestion_id,)
            )

    # -- preferences -------------------------------------------------------------------

    def set_preference(self, key: str, value: Any, category: str = "general") -> None:
        """Store a JSON-serialisable preference (replacing any previous value)."""
        now = format_time(self._now())
        with self._pool.get_connection() as conn:
            conn.execute(
                "INSERT INTO preferences (key, value, category, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                "category = excluded.category, updated_at = excluded.updated_at",
                (key, json.dumps(value), category, now),
            )

    def get_preference(self, key: str, default: Any = None) -> Any:
        """The stored preference, or ``default``."""
        with self._pool.get_connection() as conn:
            row = conn.execute("SELECT value FROM preferences WHERE key = ?", (key,)).fetchone()
        return default if row is None else _loads(row[0], default)

    # -- reporting ---------------------------------------------------------------------

    def get_statistics(self) -> dict[str, Any]:
        """Counts: entries (total, by category, recent week), success rate, patterns, suggestions.

        Read in one transaction, so the figures are consistent with each other.
        """
        week = format_time(self._now() - timedelta(days=7))
        with self._pool.get_connection() as conn:
            conn.execute("BEGIN")  # one read snapshot for every figure
            total = int(conn.execute("SELECT COUNT(*) FROM memory_entries").fetchone()[0])
            by_category = {
                str(c): int(n)
                for c, n in conn.execute(
                    "SELECT category, COUNT(*) FROM memory_entries GROUP BY category"
                )
            }
            successes = int(
                conn.execute("SELECT COUNT(*) FROM memory_entries WHERE success = 1").fetchone()[0]
            )
            patterns = int(conn.execute("SELECT COUNT(*) FROM patterns").fetchone()[0])
            active = int(
                conn.execute("SELECT COUNT(*) FROM suggestions WHERE dismissed = 0").fetchone()[0]
            )
            recent = int(
                conn.execute(
                    "SELECT COUNT(*) FROM memory_entries WHERE timestamp > ?", (week,)
                ).fetchone()[0]
            )
        return {
            "total_entries": total,
            "by_category": by_category,
            "success_rate": round(successes * 100.0 / total, 2) if total else 0,
            "total_patterns": patterns,
            "active_suggestions": active,
            "recent_activity": recent,
        }

    def export_memory(self, output_path: str, include_dismissed: bool = False) -> str:
        """Write entries, patterns, suggestions and preferences to ``output_path`` as JSON.

        The file is replaced atomically. Returns ``output_path``.
        """
        with self._pool.get_connection() as conn:
            conn.execute("BEGIN")  # one read snapshot for the whole export
            entries = [asdict(self._entry(r)) for r in conn.execute(_ALL_ENTRIES_SQL)]
            pattern_rows = conn.execute(_ALL_PATTERNS_SQL).fetchall()
            suggestion_rows = conn.execute(
                _EXPORTED_SUGGESTIONS_SQL, {"include_dismissed": 1 if include_dismissed else 0}
            ).fetchall()
            preference_rows = conn.execute(
                "SELECT key, value, category FROM preferences ORDER BY key"
            ).fetchall()
        data = {
            "exported_at": format_time(self._now()),
            "entries": entries,
            "patterns": [
                {
                    "pattern_id": r[0],
                    "pattern_type": r[1],
                    "description": r[2],
                    "frequency": r[3],
                    "last_seen": r[4],
                    "confidence": r[5],
                    "actions": _loads(r[6], []),
                    "context": _loads(r[7], {}),
                }
                for r in pattern_rows
            ],
            "suggestions": [asdict(self._suggestion(r)) for r in suggestion_rows],
            "preferences": [
                {"key": r[0], "value": _loads(r[1], None), "category": r[2]}
                for r in preference_rows
            ],
        }
        atomic_write_text(output_path, json.dumps(data, indent=2))
        return output_path
