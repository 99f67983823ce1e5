"""Security: private files, no SQL built by string formatting, no shell.

* **Permissions.** Every store is exercised in a fresh home; then every file under
  ``~/.cortex`` (SQLite ``-wal`` and ``-shm`` files, log files and lock files included) must
  be ``0600`` and every directory ``0700``. The listing is taken while the pools are still
  open, so the ``-wal`` and ``-shm`` files are there to be checked.
* **SQL.** A static check (``ast``) over ``cortex/`` (without ``cortex/demos`` and
  ``cortex/audit``): no ``execute`` / ``executemany`` / ``executescript`` / ``pragma`` /
  ``_query`` call receives an f-string, a ``%`` format, a ``.format()`` call or a string
  concatenation as its SQL, directly or through a local variable built that way. The only
  exceptions are :data:`ALLOWED_SQL`, each with its reason.
* **Shell.** No ``subprocess`` (or ``asyncio``) call with ``shell=True``, no
  ``create_subprocess_shell``, no ``os.system`` / ``os.popen`` anywhere in ``cortex/``.

Each static check is run on a planted bad sample too, to show it catches what it claims.
"""

from __future__ import annotations

import ast
import os
import stat
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from cortex.demos.ledger import LEDGER
from cortex.llm_router import LLMProvider
from cortex.utils.db_pool import close_all_pools
from tests.support.fakes import Scripted, StaticProbe


def _noon() -> datetime:
    """A fixed daytime clock, outside the default do-not-disturb window."""
    return datetime(2026, 1, 15, 12, 0)


REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "cortex"

# -- permissions -----------------------------------------------------------------------------


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A new, empty HOME for this test (the session's home is shared with other tests),
    with the common umask 022, so that permissions come from the code, not the umask."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CORTEX_DATA_DIR")  # stores at their defaults under this home
    previous = os.umask(0o022)
    try:
        yield home
    finally:
        os.umask(previous)
        close_all_pools()


def _exercise_every_store(home: Path) -> list[object]:
    """Write to each store at its default place under ``home/.cortex``.

    Returns the stores: while the caller holds them their pools stay open (a store let go
    releases its pool, and SQLite removes the ``-wal`` file on the last close).
    """
    from cortex.config_manager import ConfigManager
    from cortex.context_memory import ContextMemory, MemoryEntry
    from cortex.graceful_degradation import ResponseCache
    from cortex.hardware_detection import HardwareDetector, SystemInfo
    from cortex.installation_history import InstallationHistory, InstallationType
    from cortex.kernel_features.accelerator_limits import (
        AcceleratorLimitsManager,
        ResourceLimits,
    )
    from cortex.kernel_features.kv_cache_manager import CacheConfig, CacheDatabase
    from cortex.logging_system import CortexLogger
    from cortex.notification_manager import NotificationManager
    from cortex.semantic_cache import SemanticCache
    from cortex.transaction_history import TransactionHistory, TransactionType

    cortex_dir = home / ".cortex"
    # The two stores whose upstream default is /var/lib/cortex get their ~/.cortex fallback
    # explicitly: we run as root, so /var/lib/cortex would be writable.
    installations = InstallationHistory(cortex_dir / "history.db", probe=StaticProbe())
    installations.record_installation(
        InstallationType.INSTALL, ["nginx"], ["apt-get install nginx"], datetime.now()
    )
    cache = SemanticCache(str(cortex_dir / "cache.db"))
    cache.put_commands("install nginx", "offline", "m", "s", ["apt-get install nginx"])
    cache.flush()
    transactions = TransactionHistory(probe=StaticProbe())
    transactions.begin_transaction(TransactionType.INSTALL, ["nginx"])
    memory = ContextMemory()
    memory.record_interaction(MemoryEntry(category="package", context="web", action="x"))
    responses = ResponseCache()
    responses.put("install nginx", "apt-get install nginx")
    kv = CacheDatabase()
    kv.save_pool(CacheConfig(name="p", size_bytes=4096), "segment")
    limits = AcceleratorLimitsManager()
    limits.create(ResourceLimits.from_preset("job", "inference"))
    detector = HardwareDetector()
    detector._detect_uncached = lambda: SystemInfo(hostname="demo")  # type: ignore[method-assign]
    detector.detect()
    ConfigManager().set_preference("theme", "dark")
    notifications = NotificationManager(notifier=lambda _argv: True, clock=_noon)
    notifications.update_config(enabled=True)
    notifications.send("title", "message")
    logger = CortexLogger(name="cortex", console_level="CRITICAL")
    try:
        logger.info("hello")
        logger.error("bad")
    finally:
        logger.close()
    return [installations, cache, transactions, memory, responses, kv, limits]


def _modes(root: Path) -> dict[str, int]:
    """Permission bits of ``root`` and everything under it, by path relative to its parent."""
    found = {root.name: stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root.parent))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _violations(root: Path) -> dict[str, str]:
    wrong = {}
    for name, mode in _modes(root).items():
        expected = 0o700 if (root.parent / name).is_dir() else 0o600
        if mode != expected:
            wrong[name] = f"{mode:04o} (expected {expected:04o})"
    return wrong


@pytest.mark.thread_unsafe(reason="sets HOME and the umask, which are process-wide")
def test_every_store_keeps_its_files_private(fresh_home: Path) -> None:
    stores = _exercise_every_store(fresh_home)
    root = fresh_home / ".cortex"
    modes = _modes(root)
    # The listing covers every store, WAL files included (the pools are still open).
    for name in (
        "history.db",
        "cache.db",
        "transaction_history.db",
        "context_memory.db",
        "response_cache.db",
        "kv_cache.db",
        "limits.db",
    ):
        assert f".cortex/{name}" in modes
        assert f".cortex/{name}-wal" in modes
    for name in (
        "hardware_cache.json",
        "preferences.yaml",
        "notification_history.json",
        "notification_config.json",
        "logs",
    ):
        assert f".cortex/{name}" in modes
    LEDGER.add("security", operations=len(modes))
    assert _violations(root) == {}
    assert len(stores) == 7  # held until here, so their pools (and -wal files) stayed open


@pytest.mark.twin
def test_the_permission_check_catches_a_world_readable_file(tmp_path: Path) -> None:
    root = tmp_path / ".cortex"
    root.mkdir(mode=0o700)
    os.chmod(root, 0o700)
    (root / "ok.db").touch(mode=0o600)
    os.chmod(root / "ok.db", 0o600)
    leaky = root / "leaky.db-wal"
    leaky.touch()
    os.chmod(leaky, 0o644)
    (root / "open").mkdir()
    os.chmod(root / "open", 0o755)
    assert set(_violations(root)) == {".cortex/leaky.db-wal", ".cortex/open"}


# -- SQL built by string formatting ----------------------------------------------------------

SQL_SINKS = frozenset({"execute", "executemany", "executescript", "pragma", "_query"})
"""Calls whose first argument is SQL. ``pragma`` is the pool's ``PRAGMA`` wrapper and
``_query`` the histories' query helper; both pass their argument to ``execute``."""

ALLOWED_SQL: dict[tuple[str, str, str], str] = {
    (
        "cortex/utils/db_pool.py",
        "pragma",
        'f"PRAGMA {statement}"',
    ): "the PRAGMA wrapper itself; every call of .pragma() is checked as an SQL sink",
    (
        "cortex/utils/db_pool.py",
        "_configure",
        'f"busy_timeout={int(self.timeout * 1000)}"',
    ): "an int() of the timeout, validated positive in SQLiteConnectionPool.__init__",
    (
        "cortex/utils/db_pool.py",
        "_configure",
        'f"cache_size=-{_PAGE_CACHE_KIB}"',
    ): "a module integer constant",
}
"""``(file, function, SQL source) -> reason``: the PRAGMA statements built from integers."""

REPORTED_SQL: Counter[tuple[str, str]] = Counter()
"""``(file, function) -> number of sites`` known and not yet fixed: none, so any site the
check finds (outside :data:`ALLOWED_SQL`) fails the test. A site is fixed by writing its
statement as one literal, optional filters as null-tolerant predicates such as
``(:status IS NULL OR status = :status)``. The comparison is exact, so a listed site that is
fixed fails the test too: this list only shrinks."""


def _is_formatted(node: ast.expr, tainted: set[str]) -> bool:
    """True for an f-string with values, ``%``, ``+``, ``.format()`` or a tainted name."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return True
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"format", "join"}
    ):
        return True
    return isinstance(node, ast.Name) and node.id in tainted


def _tainted_names(function: ast.AST) -> set[str]:
    """Local names assigned a formatted string (or extended with ``+=``) in ``function``."""
    tainted: set[str] = set()
    for _ in range(2):  # a second pass catches names built from names tainted later
        for node in ast.walk(function):
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                if isinstance(node.op, (ast.Add, ast.Mod)):
                    tainted.add(node.target.id)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if _is_formatted(node.value, tainted):
                    tainted.update(t.id for t in targets if isinstance(t, ast.Name))
    return tainted


def formatted_sql(source: str, filename: str = "<sample>") -> list[tuple[str, str, str]]:
    """Every SQL sink in ``source`` that receives formatted SQL: ``(file, function, SQL)``."""
    tree = ast.parse(source, filename)
    found = []

    def visit(node: ast.AST, function: str, tainted: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name, _tainted_names(child))
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in SQL_SINKS
                and child.args
                and _is_formatted(child.args[0], tainted)
            ):
                segment = ast.get_source_segment(source, child.args[0]) or "?"
                found.append((filename, function, segment))
            visit(child, function, tainted)

    visit(tree, "<module>", _tainted_names(tree))
    return found


def _package_files(*, skip: tuple[str, ...] = ()) -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(part in skip for part in path.relative_to(PACKAGE).parts[:-1])
    ]


def test_no_query_is_built_by_string_formatting() -> None:
    sites = [
        site
        for path in _package_files(skip=("demos", "audit"))
        for site in formatted_sql(
            path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix()
        )
    ]
    LEDGER.add("security", operations=len(sites))
    allowed = [s for s in sites if s in ALLOWED_SQL]
    assert len(allowed) == len(ALLOWED_SQL), "an allowed site moved or went: update ALLOWED_SQL"
    others = Counter(
        (path, function)
        for path, function, _sql in sites
        if (path, function, _sql) not in ALLOWED_SQL
    )
    assert others == REPORTED_SQL


BAD_SQL_SAMPLE = """
def lookup(conn, name, table):
    conn.execute(f"SELECT * FROM packages WHERE name = '{name}'")
    conn.execute("SELECT * FROM packages WHERE name = '%s'" % name)
    conn.execute("SELECT * FROM {} WHERE 1".format(table))
    conn.executemany("INSERT INTO " + table + " VALUES (?)", [(1,)])
    query = "DELETE FROM packages WHERE name = '" + name + "'"
    conn.executescript(query)
    where = " WHERE 1"
    sql = "SELECT 1"
    sql += where
    conn.execute(sql)
    conn.execute("SELECT * FROM packages WHERE name = ?", (name,))  # fine
    conn.execute(CONSTANT_SQL)  # fine
"""


def test_the_sql_check_catches_every_planted_form() -> None:
    found = formatted_sql(BAD_SQL_SAMPLE)
    assert [sql for _f, _fn, sql in found] == [
        "f\"SELECT * FROM packages WHERE name = '{name}'\"",
        "\"SELECT * FROM packages WHERE name = '%s'\" % name",
        '"SELECT * FROM {} WHERE 1".format(table)',
        '"INSERT INTO " + table + " VALUES (?)"',
        "query",
        "sql",
    ]


# -- shell ------------------------------------------------------------------------------------


def shell_calls(source: str, filename: str = "<sample>") -> list[tuple[str, int, str]]:
    """Every ``shell=<not False>`` keyword, ``*_shell`` call and ``os.system`` / ``os.popen``
    call (also imported by name) in ``source``: ``(file, line, what)``."""
    tree = ast.parse(source, filename)
    from_os = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "os"
        for alias in node.names
        if alias.name in {"system", "popen"}
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append((filename, node.lineno, "shell="))
        func = node.func
        if isinstance(func, ast.Attribute):
            if (
                func.attr in {"system", "popen"}
                and isinstance(func.value, ast.Name)
                and func.value.id == "os"
            ):
                found.append((filename, node.lineno, f"os.{func.attr}"))
            if func.attr.endswith("_shell"):  # asyncio.create_subprocess_shell, loop.*_shell
                found.append((filename, node.lineno, func.attr))
        elif isinstance(func, ast.Name) and (func.id in from_os or func.id.endswith("_shell")):
            found.append((filename, node.lineno, func.id))
    return found


def test_no_shell_anywhere_in_the_package() -> None:
    files = _package_files()
    found = [
        call
        for path in files
        for call in shell_calls(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())
    ]
    LEDGER.add("security", operations=len(files))
    assert found == []


BAD_SHELL_SAMPLE = """
import os
import subprocess
from os import popen as run_it

def run(command, flag):
    subprocess.run(command, shell=True)
    subprocess.Popen(command, shell=flag)
    os.system(command)
    os.popen(command)
    run_it(command)
    asyncio.create_subprocess_shell(command)
    subprocess.run(["ls", "-l"], shell=False)  # fine
    platform.system()  # fine
"""


def test_the_shell_check_catches_every_planted_form() -> None:
    assert [what for _f, _line, what in shell_calls(BAD_SHELL_SAMPLE)] == [
        "shell=",
        "shell=",
        "os.system",
        "os.popen",
        "run_it",
        "create_subprocess_shell",
    ]


# -- terminal: model and file text never reaches the terminal raw -----------------------------

# What a hostile answer can do to a terminal: move the cursor up and erase the line (to
# overwrite a command already shown), clear the screen, conceal text, overwrite with a
# carriage return, use the one-byte C1 CSI, and reverse the text with a bidi override.
FORGERY = {
    "cursor-up-erase": "\x1b[1A\x1b[2K",
    "clear-screen": "\x1b[2J\x1b[H",
    "conceal": "\x1b[8m",
    "carriage-return": "\r",
    "c1-csi": "\x9b2K",
    "bidi-override": "\u202e",
    "bidi-isolate": "\u2066",
    "delete": "\x7f",
    "bell": "\x07",
}
RAW = ("\x1b", "\x9b", "\r", "\u202e", "\u2066", "\x7f", "\x07")


def test_printable_shows_every_control_character_escaped() -> None:
    from cortex.utils.terminal import printable

    controls = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]]
    bidi = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]
    raw = [c for c in controls + bidi if printable(c, newlines=False, tabs=False) == c]
    LEDGER.add("security", bad_inputs=len(controls) + len(bidi))
    assert raw == []
    assert printable("\x1b[2K") == "\\x1b[2K"
    assert printable("\u202eabc") == "\\u202eabc"
    assert printable("two\nlines\tand é 💥") == "two\nlines\tand é 💥"  # text stays text
    assert printable("one\nline", newlines=False) == "one\\nline"


@pytest.mark.parametrize("kind", sorted(FORGERY))
def test_the_plan_shown_before_execute_shows_escape_codes_visibly(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    from cortex import cli
    from cortex.dependency_resolver import generate_index_text
    from cortex.llm_router import LLMRouter

    code = FORGERY[kind]
    answer = (
        f"# installing nginx{code}apt-get install -y nginx-forged\n"
        "apt-get install -y nginx\n"
        f"apt-get install -y nginx{code}\n"
        f"# {code}all good, nothing else will run"
    )
    index = tmp_path / "fixture_Packages"
    index.write_text(generate_index_text(300), encoding="utf-8")
    monkeypatch.setattr(
        cli, "LLMRouter", lambda **_kw: LLMRouter(providers={LLMProvider.OPENAI: Scripted(answer)})
    )
    status = cli.main(["install", "nginx", "--index", str(index), "--no-cache"])
    captured = capsys.readouterr()
    LEDGER.add("security", bad_inputs=1)
    shown = captured.out + captured.err
    assert status == 0, shown
    assert [c for c in RAW if c in shown] == []  # nothing reaches the terminal raw
    if code != "\r":  # the planner splits lines at a carriage return: never printed at all
        assert code.encode("unicode_escape").decode("ascii") in shown  # shown, escaped
    assert "$ apt-get install -y nginx" in shown  # the genuine command is still shown
    assert "dry run" in shown


@pytest.mark.thread_unsafe(reason="replaces InstallationHistory in cortex.installation_history")
def test_history_records_are_printed_with_escape_codes_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import functools

    from cortex import cli, installation_history
    from cortex.installation_history import InstallationHistory, InstallationType

    history = functools.partial(InstallationHistory, str(tmp_path / "h.db"), StaticProbe())
    monkeypatch.setattr(installation_history, "InstallationHistory", history)
    name = "nginx" + "".join(FORGERY.values())
    history().record_installation(InstallationType.INSTALL, [name], ["x"], datetime(2026, 1, 5))
    assert cli.main(["history"]) == 0
    out = capsys.readouterr().out
    LEDGER.add("security", bad_inputs=1)
    assert [c for c in RAW if c in out] == []
    assert "nginx\\x1b[1A\\x1b[2K" in out


def test_console_log_lines_show_escape_codes_visibly() -> None:
    import logging

    from cortex.logging_system import ColoredConsoleFormatter

    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "model said %s", None, None)
    record.args = ("".join(FORGERY.values()),)
    plain = ColoredConsoleFormatter(use_color=False).format(record)
    colored = ColoredConsoleFormatter(use_color=True).format(record)
    LEDGER.add("security", bad_inputs=2)
    assert [c for c in RAW if c in plain] == []
    assert "\\x1b[1A" in plain
    # With colour on, the only escape sequences are the formatter's own colour codes.
    assert colored.replace("\x1b[33m", "").replace("\x1b[0m", "") == plain


def test_notification_text_is_shown_with_escape_codes_visible(tmp_path: Path) -> None:
    from cortex.notification_manager import NotificationManager

    shown: list[list[str]] = []

    def notifier(argv: Sequence[str]) -> bool:
        shown.append(list(argv))
        return True

    manager = NotificationManager(
        config_dir=tmp_path, clock=lambda: datetime(2026, 1, 5, 12, 0), notifier=notifier
    )
    text = "done" + "".join(FORGERY.values())
    assert manager.send(text, text) is True
    LEDGER.add("security", bad_inputs=1)
    (argv,) = shown
    assert [c for c in RAW for arg in argv if c in arg] == []
    assert "done\\x1b[1A" in argv[-1]
    assert manager.get_history()[-1]["message"] == text  # the history keeps the text as sent
