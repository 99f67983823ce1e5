"""The semantic cache of LLM answers: exact match, then a guarded similarity match.

A drop-in for upstream Cortex's ``cortex.semantic_cache`` (same public names, parameters,
defaults and tables: ``llm_cache_entries`` and ``llm_cache_stats``; an upstream database
opens without loss, see :ref:`the migration <semantic-cache-migration>`). What differs:

**A hit never crosses an action or a package set.** Upstream compared 128-dimensional
hashed bags of words, so ``install docker ...`` and ``remove docker ...`` (one verb changed)
scored above the default threshold and a removal was answered with install commands. Here
every prompt is reduced to an :class:`Intent` first: its *action* (``install``,
``remove``, ``purge``, ``upgrade``, ..., synonyms folded: ``uninstall`` is ``remove``)
and its *package set* (the words that are neither filler nor descriptive, each tied to
its action when a prompt has several, and marked when negated: ``without docker``). Only
entries with the **same action and the same package set** are candidates (an SQL filter),
and only then is similarity computed: the
cosine of the two prompts' content-word counts (filler words dropped, synonyms folded),
served when it reaches ``similarity_threshold``. Word order and filler (``please``, ``for
me``) cannot turn a removal into an install, and ``postgresql 15`` never answers
``postgresql 16``.

**Exact hits are served from memory.** Each instance keeps a read-through dictionary of
the exact keys it has seen, version-stamped against the database: every write (``put``,
eviction) by any process running this module increments a version in ``llm_cache_meta``;
a write by this instance updates the dictionary at once, and a write by another process is
noticed within ``coherence_interval`` seconds (the dictionary is then dropped). An exact
hit costs one dictionary look-up under a lock, no SQL.

**Counts are exact, whatever happens to the instance.** Hits, misses and each entry's
accesses are counted under one lock in memory and added to SQLite (``hits = hits + ?``) in
batches, at most every ``coherence_interval`` seconds, before every eviction, and on
:meth:`SemanticCache.stats`, :meth:`SemanticCache.flush` and :meth:`SemanticCache.close`
(and at interpreter exit). A batch whose transaction fails is put back, never lost or
counted twice. The counts waiting in memory belong to the *file*, not the instance: every
instance on one database in a process shares them, so ``stats()`` and the LRU eviction of
any instance see the others' hits. An instance dropped without ``close()`` (upstream's
habit: one per call) has them written by the next call on any instance, or at exit: its
finalizer only queues them, because it may run inside a garbage collection in a thread that
holds a lock the write needs. A child created by ``fork`` starts
from zero (``os.register_at_fork``): the parent writes what it counted, the child only its
own.

**The SQL path.** A look-up that misses the in-memory exact hits runs one indexed query
through :meth:`~cortex.utils.db_pool.SQLiteConnectionPool.fetch_one` (no context manager,
no per-statement owner checks: the connection never leaves the call) and memoises two pure
functions, the prompt's SHA-256 and the decoded command list of a row; the benchmark
compares it with a bare query on the same connection.

**LRU with sub-second order.** ``last_accessed_ns`` (integer nanoseconds) orders the
eviction; upstream's ``last_accessed`` text had one-second resolution, so entries touched
within the same second were evicted in arbitrary order. The text column is still written.

**One LLM call per missing prompt.** :meth:`SemanticCache.get_or_compute` is
single-flight: N threads missing on the same prompt wait for one ``compute()``.

Settings: ``CORTEX_CACHE_MAX_ENTRIES`` and ``CORTEX_CACHE_SIMILARITY_THRESHOLD`` (through
:func:`cortex.runtime.load_settings`) when the constructor gets ``None``.

.. _semantic-cache-migration:

**Upstream databases.** Opening a database written by upstream adds three columns
(``last_accessed_ns``, ``intent_action``, ``intent_packages``), fills them from each row's
``last_accessed`` and ``prompt``, and adds the ``llm_cache_meta`` table; every row and both
counters are kept. Rows added later by an upstream process still hit exactly; they join
the similarity search the next time this module opens the database.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cortex.runtime import load_settings
from cortex.utils.db_pool import (
    PoolClosedError,
    PoolHandle,
    PoolTimeoutError,
)
from cortex.utils.decode import CorruptRecordError, json_column
from cortex.utils.store import SQLiteStore, StoreSchema, format_time
from cortex.utils.thread_utils import SingleFlight

__all__ = [
    "DEFAULT_DB_PATH",
    "CacheStats",
    "Intent",
    "SemanticCache",
    "content_similarity",
    "extract_intent",
]

log = logging.getLogger(__name__)

DEFAULT_DB_PATH = "/var/lib/cortex/cache.db"
"""Upstream's default; a user who cannot write there gets ``~/.cortex/cache.db``."""

_COHERENCE_INTERVAL_S = 0.1
_PURE_MEMO_SIZE = 4096  # most prompt hashes and decoded rows memoised per instance
_FLUSH_AT_TOUCHED = 1024  # flush early once this many distinct entries wait for an update

# --------------------------------------------------------------------------------------
# Intent: the action and the package set of a prompt
# --------------------------------------------------------------------------------------

_ACTION_WORDS: dict[str, str] = {}
for _canonical, _words in {
    "install": "install installs installing installed add setup deploy get",
    "reinstall": "reinstall",
    "remove": "remove removes removing uninstall uninstalling delete erase drop rm",
    "purge": "purge purging wipe",
    "upgrade": "upgrade upgrades upgrading",
    "update": "update updates updating refresh",
    "downgrade": "downgrade",
    "search": "search find lookup",
    "show": "show info describe details inspect",
    "list": "list",
    "clean": "clean cleanup autoremove autoclean",
    "configure": "configure config reconfigure",
    "enable": "enable",
    "disable": "disable",
    "start": "start",
    "stop": "stop",
    "restart": "restart reload",
    "hold": "hold pin freeze",
    "unhold": "unhold unpin",
    "build": "build compile",
    "fix": "fix repair",
    "check": "check verify test",
}.items():
    for _word in _words.split():
        _ACTION_WORDS[_word] = _canonical


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Filler: carries no meaning for a package manager; ignored everywhere.
_FILLER = _word_set(
    """
    a an the and or but please pls kindly me my mine i we us you your can could would
    should will shall must want wanna need needs like to for on in into onto of with
    from this that these those it its is are be been being some just also then now up so
    do does how what which help let lets make sure using via by at as there here thanks
    thank hi hello hey quickly properly correctly again
    """
)
# Descriptive: part of what was asked (so it counts for similarity) but not a package.
_DESCRIPTIVE = _word_set(
    """
    package packages latest newest new stable recent current version versions system
    server tool tools software app apps application applications program programs
    machine computer box ubuntu debian linux apt apt-get dpkg environment env dev
    development production local globally global default
    """
)
_NEGATIONS = frozenset({"not", "no", "without", "except", "excluding", "never", "exclude"})
_TOKEN = re.compile(r"[a-z0-9][a-z0-9+_.\-]*")


@dataclass(frozen=True)
class Intent:
    """What a prompt asks for: the part that must match before similarity is considered."""

    action: str
    """The canonical actions in order of appearance joined by ``+`` (``install``,
    ``remove+install``), or ``""`` when the prompt names none."""
    packages: str
    """The package set, sorted and space-separated; a negated package starts with ``!``;
    with several actions each package is prefixed by its action
    (``remove:apache2 install:nginx``)."""
    content: tuple[str, ...]
    """Every word that is not filler, synonyms folded and repetitions kept; similarity
    compares these."""


def _tokens(text: str) -> list[str]:
    text = text.lower().replace("n't", " not").replace("\u2019", "'")
    return [t.rstrip(".-_") for t in _TOKEN.findall(text)]


def extract_intent(prompt: str) -> Intent:
    """Reduce a prompt to its :class:`Intent` (pure function; deterministic).

    Example:
        ``extract_intent("Please uninstall nginx")`` and ``extract_intent("remove nginx")``
        both give action ``remove`` and packages ``nginx``; ``"install nginx"`` gives
        action ``install``: the two can never answer each other.
    """
    actions: list[str] = []
    pairs: list[tuple[str, str]] = []
    content: list[str] = []
    current = ""
    negated = False
    for token in _tokens(prompt):
        if not token:
            continue
        action = _ACTION_WORDS.get(token)
        if action is not None:
            if negated:  # "don't install nginx" is not a request to install it
                action = "!" + action
            current = action
            negated = False
            if not actions or actions[-1] != action:
                actions.append(action)
            content.append(action)
            continue
        if token in _NEGATIONS:
            negated = True
            content.append("not")
            continue
        if token in _FILLER:
            continue
        content.append(("!" if negated else "") + token)
        if token not in _DESCRIPTIVE:
            pairs.append((current, ("!" if negated else "") + token))
    several = len(set(actions)) > 1
    packages = sorted({f"{a}:{p}" if several else p for a, p in pairs})
    return Intent("+".join(actions), " ".join(packages), tuple(content))


def content_similarity(a: Iterable[str], b: Iterable[str]) -> float:
    """Cosine similarity of two word multisets (1.0 for equal counts, 0.0 if disjoint)."""
    ca, cb = Counter(a), Counter(b)
    if not ca or not cb:
        return 1.0 if not ca and not cb else 0.0
    dot = sum(n * cb[w] for w, n in ca.items() if w in cb)
    norm = math.sqrt(sum(n * n for n in ca.values()) * sum(n * n for n in cb.values()))
    return dot / norm


# --------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheStats:
    """Hit and miss counts of one cache database (every process's, once flushed)."""

    hits: int
    misses: int

    @property
    def total(self) -> int:
        """The number of look-ups counted (``hits + misses``)."""
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float:
        """``hits / total``, or 0.0 before the first look-up."""
        return self.hits / self.total if self.total else 0.0


# --------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------

_Key = tuple[str, str, str, str]  # (provider, model, system_prompt, prompt)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_cache_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    system_hash TEXT NOT NULL,
    prompt TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    embedding BLOB NOT NULL,
    commands_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_accessed TEXT NOT NULL,
    hit_count INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_llm_cache_unique
    ON llm_cache_entries(provider, model, system_hash, prompt_hash);
CREATE INDEX IF NOT EXISTS idx_llm_cache_lru ON llm_cache_entries(last_accessed);
CREATE TABLE IF NOT EXISTS llm_cache_stats (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO llm_cache_stats(id, hits, misses) VALUES (1, 0, 0);
CREATE TABLE IF NOT EXISTS llm_cache_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO llm_cache_meta(key, value) VALUES ('version', 0);
"""
_ADDED_COLUMNS = {
    "last_accessed_ns": "ALTER TABLE llm_cache_entries ADD COLUMN last_accessed_ns INTEGER",
    "intent_action": "ALTER TABLE llm_cache_entries ADD COLUMN intent_action TEXT",
    "intent_packages": "ALTER TABLE llm_cache_entries ADD COLUMN intent_packages TEXT",
}
"""Column name -> the literal statement adding it to an older ``llm_cache_entries`` table."""
_INDEXES_AFTER_MIGRATION = """
CREATE INDEX IF NOT EXISTS idx_llm_cache_lru_ns ON llm_cache_entries(last_accessed_ns);
CREATE INDEX IF NOT EXISTS idx_llm_cache_intent ON llm_cache_entries(
    provider, model, system_hash, intent_action, intent_packages, last_accessed_ns);
"""


def _adopt_upstream_rows(conn: sqlite3.Connection, _found_version: int = 0) -> None:
    """Fill the added columns of rows written by upstream (inside the open transaction)."""
    conn.execute(
        "UPDATE llm_cache_entries SET last_accessed_ns = "
        "COALESCE(CAST(strftime('%s', last_accessed) AS INTEGER), 0) * 1000000000 "
        "WHERE last_accessed_ns IS NULL"
    )
    legacy = conn.execute(
        "SELECT id, prompt FROM llm_cache_entries WHERE intent_action IS NULL"
    ).fetchall()
    updates = []
    for entry_id, prompt in legacy:
        intent = extract_intent(prompt)
        updates.append((intent.action, intent.packages, entry_id))
    conn.executemany(
        "UPDATE llm_cache_entries SET intent_action = ?, intent_packages = ? WHERE id = ?",
        updates,
    )


_STORE_SCHEMA = StoreSchema(
    name="semantic_cache",
    version=1,
    create=tuple(filter(str.strip, _SCHEMA.split(";"))),
    columns={"llm_cache_entries": _ADDED_COLUMNS},
    migrate=_adopt_upstream_rows,
    after=tuple(filter(str.strip, _INDEXES_AFTER_MIGRATION.split(";"))),
)
"""Set up in one ``BEGIN IMMEDIATE`` transaction (:func:`cortex.utils.store.ensure_schema`)."""

_SELECT_EXACT = (
    "SELECT id, commands_json FROM llm_cache_entries WHERE provider = ? AND "
    "model = ? AND system_hash = ? AND prompt_hash = ?"
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(ns: int) -> str:
    """The text columns' form of a time: the stores' one convention (UTC, aware)."""
    return format_time(datetime.fromtimestamp(ns / 1e9, tz=timezone.utc))


_Pending = tuple[int, int, dict[int, list[int]]]  # hits, misses, entry id -> [n, last ns]


def _apply_counts(conn: sqlite3.Connection, pending: _Pending) -> None:
    """Add counts taken from memory to the database (inside the caller's transaction)."""
    hits, misses, touches = pending
    if hits or misses:
        conn.execute(
            "UPDATE llm_cache_stats SET hits = hits + ?, misses = misses + ? WHERE id = 1",
            (hits, misses),
        )
    if touches:
        conn.executemany(
            "UPDATE llm_cache_entries SET hit_count = hit_count + ?, "
            "last_accessed_ns = MAX(COALESCE(last_accessed_ns, 0), ?), "
            "last_accessed = ? WHERE id = ?",
            [(n, last, _iso(last), entry_id) for entry_id, (n, last) in touches.items()],
        )


class _PendingCounts:
    """Counts of one database file made in this process and not yet written to it.

    Shared by every :class:`SemanticCache` on that file in this process, so that
    :meth:`SemanticCache.stats` and the LRU eviction of any of them see the others' hits.
    ``lock`` guards the counters, and is also the lock of each of those instances
    (``SemanticCache._lock``: their in-memory exact hits), so a hit is counted and served
    under one acquisition. It holds its own :class:`~cortex.utils.db_pool.PoolHandle`, so
    it can write its counts after the last instance is gone.
    """

    def __init__(self, db_path: Path) -> None:
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.touches: dict[int, list[int]] = {}
        self.instances = 0  # live SemanticCache objects using it; guarded by _pending_lock
        self.handle = PoolHandle(db_path)

    def reset_after_fork(self) -> None:
        """In a forked child: the parent writes these counts, the child starts from zero."""
        self.lock = threading.Lock()
        # cortex-audit: ignore[shared-reset-unlocked] runs in a forked child's only thread
        self.hits = self.misses = 0
        self.touches = {}

    def take(self) -> _Pending:
        """Remove and return the counts."""
        with self.lock:
            pending = (self.hits, self.misses, self.touches)
            self.hits = self.misses = 0
            self.touches = {}
        return pending

    def restore(self, pending: _Pending) -> None:
        """Put back counts whose write failed (added to whatever was counted since)."""
        hits, misses, touches = pending
        with self.lock:
            self.hits += hits
            self.misses += misses
            for entry_id, (count, last) in touches.items():
                mine = self.touches.get(entry_id)
                if mine is None:
                    self.touches[entry_id] = [count, last]
                else:
                    mine[0] += count
                    mine[1] = max(mine[1], last)

    def empty(self) -> bool:
        """True when nothing waits to be written (read without the lock: a hint)."""
        return not (self.hits or self.misses or self.touches)

    def write(self) -> None:
        """Add the counts to the database in one transaction (put back if it fails)."""
        pending = self.take()
        if not (pending[0] or pending[1] or pending[2]):
            return
        try:
            with self.handle.transaction() as conn:
                _apply_counts(conn, pending)
        except BaseException:
            self.restore(pending)
            raise


# _pending_lock guards _pending_by_file and every _PendingCounts.instances. It is held for
# dictionary and counter updates only (no I/O, no other lock), and no finalizer takes it.
_pending_lock = threading.Lock()
_pending_by_file: dict[str, _PendingCounts] = {}
_live_caches: weakref.WeakSet[SemanticCache] = weakref.WeakSet()  # guarded by _pending_lock


def _counts_for(db_path: Path) -> _PendingCounts:
    """The shared counts of ``db_path``, with one more instance using them."""
    key = os.fspath(db_path)
    with _pending_lock:
        pending = _pending_by_file.get(key)
        if pending is not None:
            pending.instances += 1
            return pending
    made = _PendingCounts(db_path)  # outside the lock: it takes a hold on the pool
    with _pending_lock:
        pending = _pending_by_file.setdefault(key, made)
        pending.instances += 1
    if pending is not made:  # another thread registered the file first
        made.handle.close()
    return pending


# Caches dropped (garbage-collected) whose last write is still due. Their finalizer only
# appends here: it can run at any allocation, in a thread that holds _pending_lock, a
# pool's lock or the pool registry's, and waiting for any of them there could deadlock.
# Ordinary calls drain it (_settle_dropped); deque.append and popleft are atomic.
_dropped: collections.deque[tuple[str, _PendingCounts]] = collections.deque()


def _cache_dropped(key: str, pending: _PendingCounts) -> None:
    """A cache's finalizer: queue its last write for the next ordinary call (no lock taken)."""
    _dropped.append((key, pending))


def _settle_dropped() -> None:
    """Write the counts of caches dropped since the last call; forget a file's with its last.

    Called from ordinary calls and at exit, never from a finalizer. Counts that cannot be
    written now stay registered, to be written by a later call or at exit.
    """
    while _dropped:
        try:
            key, pending = _dropped.popleft()
        except IndexError:  # another thread took the last one
            return
        try:
            pending.write()
        except Exception as exc:  # another file's trouble is not this call's
            log.debug("semantic cache: counts of a dropped cache kept (%s)", exc)
        with _pending_lock:
            pending.instances -= 1
            last = (
                pending.instances <= 0 and pending.empty() and _pending_by_file.get(key) is pending
            )
            if last:
                del _pending_by_file[key]
        if last:
            pending.handle.close()


def _flush_at_exit() -> None:
    _settle_dropped()
    with _pending_lock:
        every = list(_pending_by_file.values())
    for pending in every:
        with contextlib.suppress(Exception):  # best effort while the interpreter exits
            pending.write()


atexit.register(_flush_at_exit)


def _after_fork_in_child() -> None:
    """Counts belong to the process that made them: a forked child starts from zero."""
    global _pending_lock  # noqa: PLW0603 - a lock held at fork time is lost in the child
    _pending_lock = threading.Lock()
    for pending in _pending_by_file.values():
        pending.reset_after_fork()
    for cache in list(_live_caches):
        cache._lock = cache._pending.lock
        cache._sync_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


class SemanticCache(SQLiteStore):
    """Cached LLM command lists, keyed by provider, model, system prompt and prompt.

    Safe to share between threads (one instance per process is enough) and between
    processes (through SQLite). See the module documentation for the rules.

    Args:
        db_path: the database file. Upstream's default ``/var/lib/cortex/cache.db`` becomes
            ``cache.db`` in ``CORTEX_DATA_DIR`` when that is set, and falls back to
            ``~/.cortex/cache.db`` when its directory is not writable.
        max_entries: entries kept before the least recently used are evicted; ``None``
            reads ``CORTEX_CACHE_MAX_ENTRIES``.
        similarity_threshold: lowest content similarity served for a prompt that is not an
            exact match (same action and package set required first); ``None`` reads
            ``CORTEX_CACHE_SIMILARITY_THRESHOLD``.
        read_through: keep exact hits in memory (the default). ``False`` sends every
            look-up to SQLite (what the benchmark compares against a bare connection).
        coherence_interval: most seconds before a write by another process is seen by
            this instance's in-memory exact hits, and between two flushes of the counts.

    Raises:
        DatabaseFileError: the file is not a SQLite database (it is left untouched) or its
            directory cannot be created.
        ValueError: ``max_entries`` below 1 or a threshold outside 0..1.
    """

    def __init__(
        self,
        db_path: str = DEFAULT_DB_PATH,
        max_entries: int | None = None,
        similarity_threshold: float | None = None,
        *,
        read_through: bool = True,
        coherence_interval: float = _COHERENCE_INTERVAL_S,
    ) -> None:
        _settle_dropped()
        settings = load_settings()
        self.max_entries = settings.cache_max_entries if max_entries is None else max_entries
        self.similarity_threshold = (
            settings.cache_similarity_threshold
            if similarity_threshold is None
            else similarity_threshold
        )
        if self.max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {self.max_entries}")
        if not 0.0 <= self.similarity_threshold <= 1.0:
            raise ValueError(f"similarity_threshold must be in 0..1: {similarity_threshold}")
        super().__init__(db_path, default=DEFAULT_DB_PATH, schema=_STORE_SCHEMA)
        self.db_path = os.fspath(self._pool_handle.db_path)
        self.read_through = read_through
        self._interval_ns = int(coherence_interval * 1e9)

        # Hits, misses and touches wait in memory in counts shared by every instance on this
        # file in this process; their lock is this instance's _lock. _lock guards the
        # counts and every attribute below; it is held only for dictionary and counter
        # updates, never while SQLite or an LLM works.
        self._pending = _counts_for(self._pool_handle.db_path)
        self._lock = self._pending.lock
        self._memo: dict[_Key, tuple[int, tuple[str, ...]]] = {}
        self._memo_key_by_id: dict[int, _Key] = {}
        self._seen_version = -1
        self._generation = 0  # bumped whenever _memo changes for a reason other than a read
        self._next_sync_ns = 0
        # _sync_lock is held by the one thread flushing counts and checking the version.
        self._sync_lock = threading.Lock()
        self._flight: SingleFlight[_Key, list[str]] = SingleFlight()
        self._system_hashes: dict[str, str] = {}  # memo of sha256(system prompt)
        # Memos of two pure functions on the SQL path (no lock: each get and set is one
        # atomic dictionary operation, and a lost entry is only recomputed): a prompt's
        # SHA-256, and the command tuple decoded from a row's JSON text.
        self._prompt_hashes: dict[str, str] = {}
        self._decoded: dict[str, tuple[str, ...]] = {}
        # Dropped without close() (upstream's habit: one instance per call), the counts
        # are still written; the finalizer holds the counts, never the instance.
        self._finalizer = weakref.finalize(
            self, _cache_dropped, os.fspath(self._pool_handle.db_path), self._pending
        )
        with _pending_lock:
            _live_caches.add(self)

        self._init_database()

    # -- storage -----------------------------------------------------------------------

    def _init_database(self) -> None:
        """Adopt rows an upstream process added since, and read the version."""
        with self._pool.get_connection() as conn:
            legacy = conn.execute(
                "SELECT 1 FROM llm_cache_entries WHERE intent_action IS NULL "
                "OR last_accessed_ns IS NULL LIMIT 1"
            ).fetchone()
            if legacy is None:
                self._seen_version = self._read_version(conn)
                return
        with self._pool.transaction() as conn:
            _adopt_upstream_rows(conn)
            self._seen_version = self._read_version(conn)

    @staticmethod
    def _read_version(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM llm_cache_meta WHERE key = 'version'").fetchone()
        return int(row[0]) if row else 0

    def _system_hash(self, system_prompt: str) -> str:
        digest = self._system_hashes.get(system_prompt)
        if digest is None:
            digest = _sha256(system_prompt)
            if len(self._system_hashes) < 256:  # a handful of system prompts in practice
                self._system_hashes[system_prompt] = digest
        return digest

    # -- pending counts ----------------------------------------------------------------

    def _has_pending(self) -> bool:
        with self._lock:
            return not self._pending.empty()

    def _take_pending(self) -> _Pending:
        return self._pending.take()

    def _restore_pending(self, pending: _Pending) -> None:
        self._pending.restore(pending)

    def _note_version(self, version: int) -> None:
        """A version read from the database: drop the memo if another process wrote."""
        with self._lock:
            if version > self._seen_version:
                self._memo.clear()
                self._memo_key_by_id.clear()
                self._seen_version = version
                self._generation += 1

    def _sync(self) -> None:
        """Flush pending counts and check the version (caller holds ``_sync_lock``)."""
        pending = self._take_pending()
        if not (pending[0] or pending[1] or pending[2]):
            # nothing to write: no write lock
            with self._pool.get_connection() as conn:
                version = self._read_version(conn)
            self._note_version(version)
            return
        try:
            with self._pool.transaction() as conn:
                _apply_counts(conn, pending)
                version = self._read_version(conn)
        except BaseException:
            self._restore_pending(pending)
            raise
        self._note_version(version)

    def _maybe_sync(self) -> None:
        """Called from look-ups when a flush is due; never raises; skips if another flushes."""
        if not self._sync_lock.acquire(blocking=False):
            return  # another thread is flushing right now
        try:
            with self._lock:
                now = time.time_ns()
                if now < self._next_sync_ns and len(self._pending.touches) < _FLUSH_AT_TOUCHED:
                    return
                self._next_sync_ns = now + self._interval_ns
            self._sync()
            _settle_dropped()
        except (sqlite3.Error, PoolClosedError, PoolTimeoutError, OSError) as exc:
            log.debug("semantic cache: deferred flush of counts failed (%s); kept", exc)
        finally:
            self._sync_lock.release()

    def flush(self) -> None:
        """Add every count held in memory to the database now (and check its version)."""
        with self._sync_lock:
            self._sync()
        _settle_dropped()

    def close(self) -> None:
        """Write the counts and let the pool go (closed once no other store holds it).

        The instance stays usable: a later call opens the pool again. An instance dropped
        without ``close()`` has its counts written by the next call on any instance, or at
        exit.
        """
        self.flush()
        _settle_dropped()
        with _pending_lock:
            alone = self._pending.instances <= 1
        if alone:  # other instances on this file still write the shared counts through it
            self._pending.handle.close()
        super().close()

    # -- look-ups ----------------------------------------------------------------------

    def get_commands(
        self,
        prompt: str,
        provider: str,
        model: str,
        system_prompt: str,
        candidate_limit: int = 200,
    ) -> list[str] | None:
        """The cached commands for this request, or ``None`` (counted as a miss).

        An exact match (same provider, model, system prompt and prompt) first; then the
        most similar of the ``candidate_limit`` most recently used entries that have the
        same action and package set, if its similarity reaches the threshold.

        Returns:
            A new list each call (callers may modify it), or ``None``.
        """
        return self._get(prompt, provider, model, system_prompt, candidate_limit, count=True)

    def _get(
        self,
        prompt: str,
        provider: str,
        model: str,
        system_prompt: str,
        candidate_limit: int,
        *,
        count: bool,
    ) -> list[str] | None:
        key: _Key = (provider, model, system_prompt, prompt)
        now = time.time_ns()
        if self.read_through:
            if now >= self._next_sync_ns:  # check other processes' writes before serving
                self._maybe_sync()
            pending = self._pending
            with self._lock:
                found = self._memo.get(key)
                if found is not None and count:
                    pending.hits += 1
                    touch = pending.touches.get(found[0])
                    if touch is None:
                        pending.touches[found[0]] = [1, now]
                    else:
                        touch[0] += 1
                        touch[1] = max(touch[1], now)
                due = len(pending.touches) >= _FLUSH_AT_TOUCHED
            if due:
                self._maybe_sync()
            if found is not None:
                return list(found[1])
        return self._get_from_database(key, now, candidate_limit, count=count)

    def _get_from_database(
        self, key: _Key, now: int, candidate_limit: int, *, count: bool
    ) -> list[str] | None:
        provider, model, system_prompt, prompt = key
        system_hash = self._system_hash(system_prompt)
        # Read without the lock: compared again under it before the memo is filled, so a
        # stale value only skips filling it.
        generation = self._generation
        row = self._pool.fetch_one(
            _SELECT_EXACT, (provider, model, system_hash, self._prompt_hash(prompt))
        )
        exact = row is not None
        if row is not None:
            hit: tuple[int, str] | None = (int(row[0]), str(row[1]))
        elif candidate_limit > 0:
            hit = self._most_similar(key, system_hash, candidate_limit)
        else:
            hit = None
        commands = self._decode(*hit) if hit is not None else None
        if commands is None:
            hit = None  # a row whose commands do not decode is a miss (logged by _decode)
        pending = self._pending
        with self._lock:
            if count:
                if hit is None:
                    pending.misses += 1
                else:
                    pending.hits += 1
                    touch = pending.touches.get(hit[0])
                    if touch is None:
                        pending.touches[hit[0]] = [1, now]
                    else:
                        touch[0] += 1
                        touch[1] = max(touch[1], now)
            if (
                exact
                and self.read_through
                and hit is not None
                and commands is not None
                and generation == self._generation
            ):
                self._memo[key] = (hit[0], commands)
                self._memo_key_by_id[hit[0]] = key
        if count and not self.read_through and now >= self._next_sync_ns:
            self._maybe_sync()
        return list(commands) if commands is not None else None

    def _prompt_hash(self, prompt: str) -> str:
        """SHA-256 of ``prompt`` (memoised: a cache sees the same prompts again)."""
        digest = self._prompt_hashes.get(prompt)
        if digest is None:
            digest = _sha256(prompt)
            if len(self._prompt_hashes) >= _PURE_MEMO_SIZE:
                self._prompt_hashes.clear()
            self._prompt_hashes[prompt] = digest
        return digest

    def _most_similar(
        self, key: _Key, system_hash: str, candidate_limit: int
    ) -> tuple[int, str] | None:
        """``(id, commands_json)`` of the most similar entry with the same intent, if close."""
        provider, model, _system_prompt, prompt = key
        intent = extract_intent(prompt)
        with self._pool.get_connection() as conn:
            rows = conn.execute(
                "SELECT id, prompt, commands_json FROM llm_cache_entries "
                "WHERE provider = ? AND model = ? AND system_hash = ? AND "
                "intent_action = ? AND intent_packages = ? "
                "ORDER BY last_accessed_ns DESC LIMIT ?",
                (provider, model, system_hash, intent.action, intent.packages, candidate_limit),
            ).fetchall()
        best, hit = -1.0, None
        for entry_id, other, commands_json in rows:
            score = content_similarity(intent.content, extract_intent(other).content)
            if score > best:
                best, hit = score, (int(entry_id), str(commands_json))
        return hit if best >= self.similarity_threshold else None

    def _decode(self, entry_id: int, commands_json: str) -> tuple[str, ...] | None:
        """The commands stored as ``commands_json`` (memoised: rows repeat).

        ``None`` for a row that does not hold a JSON list of strings (hostile bytes, deep
        nesting, an over-long integer): it is logged with the file and row and served as a
        miss, so the answer is asked for again and the row replaced.
        """
        commands = self._decoded.get(commands_json)
        if commands is None:
            try:
                decoded = json_column(
                    commands_json,
                    path=self.db_path,
                    table="llm_cache_entries",
                    row=entry_id,
                    column="commands_json",
                    expect=list,
                    default=[],
                )
            except CorruptRecordError as exc:
                log.warning("%s", exc)
                return None
            if not all(isinstance(command, str) for command in decoded):
                log.warning("%s: row %s holds a command that is not text", self.db_path, entry_id)
                return None
            commands = tuple(decoded)
            if len(self._decoded) >= _PURE_MEMO_SIZE:
                self._decoded.clear()
            self._decoded[commands_json] = commands
        return commands

    # -- writes ------------------------------------------------------------------------

    def put_commands(
        self,
        prompt: str,
        provider: str,
        model: str,
        system_prompt: str,
        commands: list[str],
    ) -> None:
        """Store (or replace) the commands for this request, then evict down to the limit.

        The least recently used entries go first (nanosecond order; pending access times
        are written in the same transaction first, so recent hits are respected).
        """
        stored = tuple(str(c) for c in commands)
        key: _Key = (provider, model, system_prompt, prompt)
        intent = extract_intent(prompt)
        now = time.time_ns()
        pending = self._take_pending()
        try:
            with self._pool.transaction() as conn:
                _apply_counts(conn, pending)
                conn.execute(
                    "INSERT INTO llm_cache_entries (provider, model, system_hash, prompt, "
                    "prompt_hash, embedding, commands_json, created_at, last_accessed, "
                    "hit_count, last_accessed_ns, intent_action, intent_packages) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) "
                    "ON CONFLICT(provider, model, system_hash, prompt_hash) DO UPDATE SET "
                    "prompt = excluded.prompt, embedding = excluded.embedding, "
                    "commands_json = excluded.commands_json, "
                    "last_accessed = excluded.last_accessed, "
                    "last_accessed_ns = excluded.last_accessed_ns, "
                    "intent_action = excluded.intent_action, "
                    "intent_packages = excluded.intent_packages",
                    (
                        provider,
                        model,
                        self._system_hash(system_prompt),
                        prompt,
                        _sha256(prompt),
                        json.dumps(list(intent.content)).encode("utf-8"),
                        json.dumps(list(stored), separators=(",", ":")),
                        _iso(now),
                        _iso(now),
                        now,
                        intent.action,
                        intent.packages,
                    ),
                )
                entry_id = int(
                    conn.execute(
                        "SELECT id FROM llm_cache_entries WHERE provider = ? AND model = ? "
                        "AND system_hash = ? AND prompt_hash = ?",
                        (provider, model, self._system_hash(system_prompt), _sha256(prompt)),
                    ).fetchone()[0]
                )
                evicted = self._evict(conn)
                conn.execute("UPDATE llm_cache_meta SET value = value + 1 WHERE key = 'version'")
                version = self._read_version(conn)
        except BaseException:
            self._restore_pending(pending)
            raise
        with self._lock:
            if version == self._seen_version + 1 and self.read_through:
                for gone in evicted:  # only this instance wrote since the last check
                    old_key = self._memo_key_by_id.pop(gone, None)
                    if old_key is not None:
                        self._memo.pop(old_key, None)
                self._memo[key] = (entry_id, stored)
                self._memo_key_by_id[entry_id] = key
            else:
                self._memo.clear()
                self._memo_key_by_id.clear()
            self._seen_version = max(self._seen_version, version)
            self._generation += 1

    def _evict(self, conn: sqlite3.Connection) -> list[int]:
        count = int(conn.execute("SELECT COUNT(*) FROM llm_cache_entries").fetchone()[0])
        excess = count - self.max_entries
        if excess <= 0:
            return []
        ids = [
            int(row[0])
            for row in conn.execute(
                "SELECT id FROM llm_cache_entries "
                "ORDER BY COALESCE(last_accessed_ns, 0) ASC, id ASC LIMIT ?",
                (excess,),
            )
        ]
        conn.executemany("DELETE FROM llm_cache_entries WHERE id = ?", [(i,) for i in ids])
        return ids

    def get_or_compute(  # noqa: PLR0917 - upstream's positional order, plus compute
        self,
        prompt: str,
        provider: str,
        model: str,
        system_prompt: str,
        compute: Callable[[], list[str]],
        candidate_limit: int = 200,
    ) -> list[str]:
        """The cached commands, or ``compute()``'s, stored; one ``compute`` per prompt at a time.

        Counts one hit or one miss per call, like :meth:`get_commands`. Callers that miss
        while another thread computes the same request wait for its result instead of
        calling the LLM again; a caller arriving after it was stored gets a cache hit.
        If ``compute`` raises, every waiting caller gets that exception and nothing is
        stored.
        """
        found = self.get_commands(prompt, provider, model, system_prompt, candidate_limit)
        if found is not None:
            return found

        def fill() -> list[str]:
            again = self._get(prompt, provider, model, system_prompt, candidate_limit, count=False)
            if again is not None:  # stored between our miss and this flight
                return again
            result = [str(c) for c in compute()]
            self.put_commands(prompt, provider, model, system_prompt, result)
            return result

        return list(self._flight.do((provider, model, system_prompt, prompt), fill))

    def stats(self) -> CacheStats:
        """Hits and misses of this database so far (this process's counts flushed first)."""
        self.flush()
        with self._pool.get_connection() as conn:
            row = conn.execute("SELECT hits, misses FROM llm_cache_stats WHERE id = 1").fetchone()
        return CacheStats(0, 0) if row is None else CacheStats(int(row[0]), int(row[1]))

    def __repr__(self) -> str:
        return f"<SemanticCache {self.db_path} max_entries={self.max_entries}>"
