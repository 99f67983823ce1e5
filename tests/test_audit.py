"""The static audit: every pattern found, safe code left alone, reports and exit codes.

The corpus under ``tests/audit_corpus`` labels what each unsafe sample contains
(``# expect: pattern-id``); safe samples carry no label and must produce nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cortex.audit import RULES, AuditResult, Severity, audit_paths, audit_source
from cortex.audit.cli import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, main
from cortex.audit.corpus import CorpusScore, evaluate_corpus, expected_patterns
from cortex.audit.corpus import main as corpus_main
from cortex.audit.engine import discover
from cortex.audit.report import (
    format_text,
    summary_rows,
    to_json_document,
    to_sarif_document,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "audit_corpus"
UNSAFE = sorted((CORPUS / "unsafe").glob("*.py"))
SAFE = sorted((CORPUS / "safe").glob("*.py"))
PATTERNS = [r for r in RULES if r not in {"bad-suppression", "parse-error"}]


def _found(path: Path) -> Counter[str]:
    findings = audit_source(path.read_text(encoding="utf-8"), path.name)
    return Counter(f.rule.id for f in findings if not f.suppressed and not f.hidden)


def _ids(source: str) -> list[str]:
    """Findings shown by default (``info`` ones are hidden)."""
    findings = audit_source(textwrap.dedent(source))
    return [f.rule.id for f in findings if not f.suppressed and not f.hidden]


def _info(source: str) -> list[str]:
    """``info`` findings only."""
    findings = audit_source(textwrap.dedent(source))
    return [f.rule.id for f in findings if not f.suppressed and f.hidden]


@pytest.fixture(scope="module")
def corpus_score() -> CorpusScore:
    return evaluate_corpus(CORPUS)


# --------------------------------------------------------------------------------------
# The corpus


def test_the_corpus_is_big_enough_and_covers_every_pattern() -> None:
    assert len(UNSAFE) + len(SAFE) >= 40
    assert len(SAFE) >= 15
    labelled: Counter[str] = Counter()
    for path in UNSAFE:
        labels = expected_patterns(path.read_text(encoding="utf-8"))
        assert labels, f"{path.name} has no # expect: label"
        labelled.update(Counter(labels))
    for path in SAFE:
        assert not expected_patterns(path.read_text(encoding="utf-8")), path.name
    shown = {p for p in PATTERNS if RULES[p].severity > Severity.INFO}
    assert shown <= set(labelled), shown - set(labelled)


def test_an_informational_pattern_is_still_reported_at_info() -> None:
    """A rule whose findings are all ``info`` (measured on real code: its evidence did not
    predict a defect) still finds its pattern: its samples, kept among the safe ones,
    show it with ``--show-info``."""
    informational = {p for p in PATTERNS if RULES[p].severity == Severity.INFO}
    assert informational, "no rule is informational: drop this test"
    for pattern in informational:
        samples = sorted(
            (CORPUS / "safe").glob(f"*{pattern.split('-', 1)[1].replace('-', '_')}*_info.py")
        )
        assert samples, pattern
        for sample in samples:
            result = audit_paths([sample], default_excludes=True)
            assert not result.active, sample.name
            assert [f.rule.id for f in result.findings] == [pattern], sample.name


@pytest.mark.parametrize("sample", UNSAFE, ids=lambda p: p.stem)
def test_each_unsafe_sample_is_found_exactly(sample: Path) -> None:
    expected = expected_patterns(sample.read_text(encoding="utf-8"))
    assert _found(sample) == Counter(expected)


@pytest.mark.parametrize("sample", SAFE, ids=lambda p: p.stem)
def test_each_safe_sample_is_clean(sample: Path) -> None:
    assert _found(sample) == Counter()


def test_precision_and_recall_meet_their_targets(corpus_score: CorpusScore) -> None:
    assert corpus_score.recall >= 0.95, corpus_score.mistakes()
    assert corpus_score.precision >= 0.9, corpus_score.mistakes()
    assert corpus_score.true_positives + corpus_score.false_negatives >= 40
    assert "precision:" in corpus_score.summary()


def test_corpus_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert corpus_main([str(CORPUS), "--strict"]) == 0
    assert "recall: 1.000" in capsys.readouterr().out
    _write(tmp_path, "missed.py", "# expect: shared-rmw\nx = 1\n")
    assert corpus_main([str(tmp_path)]) == 1
    assert "missed" in capsys.readouterr().out
    assert corpus_main([]) == 2


def test_expect_labels_must_name_real_patterns() -> None:
    with pytest.raises(ValueError, match="no-such-rule"):
        expected_patterns("# expect: no-such-rule\n")


# --------------------------------------------------------------------------------------
# Individual patterns and their near misses


def test_double_checked_locking_is_not_reported() -> None:
    assert not _ids(
        """
        import threading
        _lock = threading.Lock()
        _x = None
        def get():
            global _x
            if _x is None:
                with _lock:
                    if _x is None:
                        _x = object()
            return _x
        """
    )


def test_lock_held_through_acquire_and_release_counts() -> None:
    assert not _ids(
        """
        import threading
        class C:
            def __init__(self):
                self._lock = threading.Lock()
                self.n = 0
            def take(self):
                self._lock.acquire()
                self.n += 1
            def give(self):
                self.n -= 1
                self._lock.release()
        """
    )


def test_read_modify_write_needs_evidence_of_threads() -> None:
    source = textwrap.dedent(
        """
        import threading
        class C:
            def __init__(self):
                self.n = 0{lock}
            def bump(self):
                self.n += 1
        """
    )
    plain = source.format(lock="")
    # Importing threading is no evidence that this object is shared: info only.
    assert _ids(plain) == []
    assert _info(plain) == ["shared-rmw"]
    # A lock in the class shows threads only for the state it guards: an attribute
    # never updated under it may belong to one thread.
    locked = "\n        self._lock = threading.Lock()"
    assert _ids(source.format(lock=locked)) == []
    guarded = source.format(lock=locked) + textwrap.indent(
        "def bump_safely(self):\n    with self._lock:\n        self.n += 1\n", "    "
    )
    assert _ids(guarded) == ["shared-rmw"]
    # A method handed to a thread, a singleton's product: shown.
    assert _ids(plain + "threading.Thread(target=C().bump).start()\n") == ["shared-rmw"]
    product = plain + textwrap.dedent(
        """
        _lock = threading.Lock()
        _c = None
        def get():
            global _c
            if _c is None:
                with _lock:
                    if _c is None:
                        _c = C()
            return _c
        """
    )
    assert _ids(product) == ["shared-rmw"]


def test_a_private_helper_called_only_under_the_lock_is_locked() -> None:
    source = textwrap.dedent(
        """
        import threading
        class C:
            def __init__(self):
                self._lock = threading.Lock()
                self.n = 0
            def bump(self):
                with self._lock:
                    self._add()
            def bump_unlocked(self):
                {call}
            def bump_direct(self):
                with self._lock:
                    self.n += 1
            def _add(self):
                self.n += 1
        """
    )
    assert _ids(source.format(call="pass")) == []
    assert _ids(source.format(call="self._add()")) == ["shared-rmw"]


def test_a_reset_racing_a_locked_update_is_reported() -> None:
    source = """
        import threading
        class Stats:
            def __init__(self):
                self._lock = threading.Lock()
                self.count = 0
            def record(self):
                with self._lock:
                    self.count += 1
            def reset(self):
                self.count = 0
        """
    assert _ids(source) == ["shared-reset-unlocked"]
    locked = textwrap.dedent(source).replace(
        "    def reset(self):\n        self.count = 0",
        "    def reset(self):\n        with self._lock:\n            self.count = 0",
    )
    assert _ids(locked) == []


def test_a_fetched_row_is_data_after_the_block() -> None:
    source = """
        def get(pool):
            with pool.get_connection() as conn:
                cursor = conn.cursor()
                cursor.execute("SELECT 1")
                row = cursor.fetchone()
            return row[0] if row else None
        """
    assert _ids(source) == []
    assert _ids(source.replace("return row[0] if row else None", "cursor.execute('x')")) == [
        "sqlite-use-after-return"
    ]


@pytest.mark.parametrize(
    ("test", "shown"),
    [
        ("len(names) > 1", True),  # a limit: keep one, prune the rest on every call
        ("len(names) > 100", True),
        ("len(names) == 0", False),  # whether anything is left
        ("len(names) >= 1", False),
        ("len(names) < 1", False),
    ],
)
def test_only_a_length_limit_makes_a_prune_routine(test: str, shown: bool) -> None:
    source = f"""
        import os
        def prune(folder):
            names = os.listdir(folder)
            if {test}:
                for name in names:
                    os.remove(os.path.join(folder, name))
        """
    assert ("file-prune-race" in _ids(source)) is shown


_SHARED_CONNECTION_CLASS = """
    import sqlite3
    class Database:
        def __init__(self, path, in_memory):
            file_conn = sqlite3.connect(path, check_same_thread=False)
            if in_memory:
                memory_conn = sqlite3.connect(":memory:", check_same_thread=False)
                file_conn.backup(memory_conn)
                self._conn = memory_conn
            else:
                self._conn = file_conn
        def reload(self, feeds):
            self._conn.executemany("REPLACE INTO feed VALUES (?)", feeds)
            self._conn.commit()
    """


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("self.database.reload", True),  # another module runs the Database's method on a thread
        ("self.database.close", False),  # not a method of Database
        ("self.renderer.reload", False),  # a holder not named after Database
    ],
)
def test_a_class_run_on_threads_by_another_module_is_shared(
    tmp_path: Path, target: str, shown: bool
) -> None:
    """A connection kept through a local (``conn = connect(); self._conn = conn``) is the
    class's; the evidence that threads share the class is in another module, which hands a
    method to a thread through an attribute named after the class."""
    _write(tmp_path / "app", "database.py", _SHARED_CONNECTION_CLASS)
    _write(
        tmp_path / "app",
        "display.py",
        f"""
        import threading
        class Display:
            def __init__(self, database):
                self.database = database
            def refresh(self, feeds):
                threading.Thread(target={target}, args=[feeds]).start()
        """,
    )
    result = audit_paths([tmp_path / "app"])
    shown_rules = {(Path(f.path).name, f.rule.id) for f in result.active}
    assert (("database.py", "sqlite-shared-connection") in shown_rules) is shown


@pytest.mark.parametrize(
    ("wrapper_body", "shown"),
    [
        ("with sqlite3.connect(self.path) as con:\n    return con.execute(sql, args)", False),
        ("con = sqlite3.connect(self.path)\nreturn con.execute(sql, args)", True),
    ],
)
def test_a_write_through_a_committing_wrapper_of_the_run_is_committed(
    tmp_path: Path, wrapper_body: str, shown: bool
) -> None:
    """``self.db.execute("INSERT ...")`` where the run's only ``execute`` definition runs
    each statement in a transaction it commits; the same call through a wrapper that never
    commits is still reported, and so is a raw connection's write beside it."""
    body = textwrap.indent(wrapper_body, " " * 16)
    _write(
        tmp_path / "app",
        "db.py",
        f"""
        import sqlite3
        class Store:
            def __init__(self, path):
                self.path = path
            def execute(self, sql, args=()):
{body}
        """,
    )
    _write(
        tmp_path / "app",
        "threads.py",
        """
        import sqlite3
        class Threads:
            def __init__(self, db):
                self.db = db
            def new(self, uri):
                self.db.execute("INSERT INTO threads (uri) VALUES (?)", (uri,))
        class Raw:
            def __init__(self, path):
                self.conn = sqlite3.connect(path)
            def new(self, uri):
                self.conn.execute("INSERT INTO threads (uri) VALUES (?)", (uri,))
        """,
    )
    result = audit_paths([tmp_path / "app"])
    lines = {f.line for f in result.active if f.rule.id == "sqlite-missing-commit"}
    assert 12 in lines  # Raw.new: a connection the module makes, never committed
    assert (7 in lines) is shown


def test_a_checkout_is_judged_by_its_definition_across_modules(tmp_path: Path) -> None:
    _write(
        tmp_path / "app",
        "pool.py",
        """
        import queue
        from contextlib import contextmanager
        class Pool:
            def __init__(self):
                self._q = queue.Queue()
            @contextmanager
            def get_connection(self):
                conn = self._q.get()
                try:
                    yield conn
                finally:
                    self._q.put(conn)
        """,
    )
    _write(
        tmp_path / "app",
        "limits.py",
        """
        class Limits:
            def __init__(self, pool):
                self._pool = pool
            def save(self, name):
                with self._pool.get_connection() as conn:
                    conn.execute("INSERT INTO t VALUES (?)", (name,))
        """,
    )
    result = audit_paths([tmp_path / "app"])
    found = {(Path(f.path).name, f.rule.id, f.severity.label) for f in result.active}
    assert ("limits.py", "sqlite-missing-commit", "high") in found  # at the write
    alone = audit_paths([tmp_path / "app" / "limits.py"])
    assert alone.active == []  # the pool's definition is not in the run: info only
    assert [f.rule.id for f in alone.hidden] == ["sqlite-missing-commit"]


@pytest.mark.parametrize(
    ("connect", "shown"),
    [
        ("sqlite3.connect(self.path, isolation_level=None, timeout=20)", False),
        ("sqlite3.connect(self.path, autocommit=True)", False),
        ("sqlite3.connect(self.path, timeout=20)", True),  # the twin: a transaction is begun
    ],
)
def test_a_checkout_lending_an_autocommit_connection_commits(
    tmp_path: Path, connect: str, shown: bool
) -> None:
    """A checkout defined in another module that lends a connection made in autocommit
    mode commits every statement when it runs (conan's database tables); the same
    checkout lending a default connection, which begins a transaction, is reported at the
    write."""
    _write(
        tmp_path / "app",
        "table.py",
        f"""
        import sqlite3
        from contextlib import contextmanager
        class Table:
            def __init__(self, path):
                self.path = path
            @contextmanager
            def db_connection(self):
                connection = {connect}
                try:
                    yield connection
                finally:
                    connection.close()
        """,
    )
    _write(
        tmp_path / "app",
        "recipes.py",
        """
        from .table import Table
        class Recipes(Table):
            def create(self, name):
                with self.db_connection() as conn:
                    conn.execute("INSERT INTO recipes VALUES (?)", (name,))
        """,
    )
    result = audit_paths([tmp_path / "app"])
    found = {(Path(f.path).name, f.rule.id) for f in result.active}
    assert (("recipes.py", "sqlite-missing-commit") in found) is shown


@pytest.mark.parametrize(
    ("end", "shown"),
    [
        ('"COMMIT"', False),
        ('"end transaction;"', False),
        ('"SELECT 1"', True),  # the twin: the explicit transaction is never ended
    ],
)
def test_a_checkout_ending_its_transaction_by_statement_commits(
    tmp_path: Path, end: str, shown: bool
) -> None:
    """A checkout defined in another module that begins a transaction with ``BEGIN`` and
    ends it with a ``COMMIT`` statement run by hand commits what runs in its block
    (mem0ai's history store writes this way); one whose last statement is not a commit is
    reported at the write."""
    _write(
        tmp_path / "app",
        "store.py",
        f"""
        import sqlite3
        from contextlib import contextmanager
        class Store:
            def __init__(self, path):
                self.connection = sqlite3.connect(path)
            @contextmanager
            def checkout(self):
                self.connection.execute("BEGIN")
                yield self.connection
                self.connection.execute({end})
        """,
    )
    _write(
        tmp_path / "app",
        "history.py",
        """
        from .store import Store
        class History(Store):
            def add(self, entry):
                with self.checkout() as conn:
                    conn.execute("INSERT INTO history VALUES (?)", (entry,))
        """,
    )
    result = audit_paths([tmp_path / "app"])
    found = {(Path(f.path).name, f.rule.id) for f in result.active}
    assert (("history.py", "sqlite-missing-commit") in found) is shown


def test_paths_the_caller_passes_are_info() -> None:
    source = textwrap.dedent(
        """
        import json
        PATH = "state.json"
        def export({params}):
            with open(path, "w") as f:
                json.dump(data, f)
        """
    )
    caller = source.format(params="path, data")
    assert _ids(caller) == []
    assert _info(caller) == ["file-in-place-write"]
    assert _ids(source.format(params="data, path=PATH")) == ["file-in-place-write"]


def test_asyncio_primitives_need_evidence_of_several_loops() -> None:
    source = textwrap.dedent(
        """
        import asyncio
        class Limiter:
            def __init__(self):
                self._lock = asyncio.Lock()
            async def go(self):
                async with self._lock:
                    pass
        """
    )
    assert _ids(source) == []
    assert _info(source) == ["asyncio-loop-bound"]
    several = source + "def run():\n    return asyncio.run(Limiter().go())\n"
    assert _ids(several) == ["asyncio-loop-bound"]


def test_connect_per_call_is_info_unless_in_a_loop() -> None:
    source = """
        import sqlite3
        class Store:
            def get(self, path):
                with sqlite3.connect(path) as conn:
                    return conn.execute("SELECT 1").fetchall()
        """
    assert _ids(source) == []
    assert _info(source) == ["sqlite-connect-per-call"]


def test_logging_handler_methods_run_under_the_handler_lock() -> None:
    assert not _ids(
        """
        import logging, threading
        class H(logging.Handler):
            def __init__(self):
                super().__init__()
                self.count = 0
            def emit(self, record):
                self.count += 1
        """
    )


def test_use_after_return_tracks_rebinding() -> None:
    source = """
        def f(pool):
            with pool.get_connection() as conn:
                cur = conn.cursor()
            cur = None
            return cur
        """
    assert _ids(source) == []


def test_a_pool_that_commits_on_return_is_not_reported() -> None:
    assert not _ids(
        """
        import contextlib, sqlite3
        class P:
            @contextlib.contextmanager
            def get_connection(self):
                conn = self._queue.get()
                try:
                    yield conn
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                finally:
                    self._queue.put(conn)
        """
    )


def test_writes_in_a_transaction_helper_are_committed() -> None:
    assert not _ids(
        """
        def f(pool, name):
            with pool.transaction() as conn:
                conn.execute("UPDATE t SET n = n + 1 WHERE name = ?", (name,))
        """
    )


def test_aliases_are_resolved() -> None:
    assert _ids(
        """
        import sqlite3 as sq
        C = sq.connect("x.db", check_same_thread=False)
        def put():
            C.execute("SELECT 1")
        """
    ) == ["sqlite-shared-connection"]


def test_syntax_errors_are_reported_not_raised() -> None:
    findings = audit_source("def broken(:\n    pass\n", "bad.py")
    assert [f.rule.id for f in findings] == ["parse-error"]
    assert findings[0].line == 1


def test_a_declared_source_encoding_is_honoured(tmp_path: Path) -> None:
    module = tmp_path / "legacy.py"
    module.write_bytes("# -*- coding: big5 -*-\nGREETING = '\u4f60\u597d'\n".encode("big5"))
    result = audit_paths([module])
    assert [f.rule.id for f in result.findings] == []
    undeclared = tmp_path / "undeclared.py"
    undeclared.write_bytes("GREETING = '\u4f60\u597d'\n".encode("big5"))
    assert [f.rule.id for f in audit_paths([undeclared]).findings] == ["parse-error"]


def test_a_test_package_is_test_code(tmp_path: Path) -> None:
    package = tmp_path / "pkg" / "tests"
    package.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text("", encoding="utf-8")
    writer = "import json\nPATH = 'state.json'\ndef save(d):\n"
    writer += "    with open(PATH, 'w') as f:\n        json.dump(d, f)\n"
    (package / "helpers.py").write_text(writer, encoding="utf-8")
    loose = tmp_path / "tests" / "scripts"
    loose.mkdir(parents=True)
    (tmp_path / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (loose / "helpers.py").write_text(writer, encoding="utf-8")
    assert [f.rule.id for f in audit_paths([package]).active] == []
    assert [f.rule.id for f in audit_paths([loose]).active] == ["file-in-place-write"]


# --------------------------------------------------------------------------------------
# Suppressions

_RACY = """\
import threading
_x = None
def get():
    global _x
    if _x is None:{comment}
        _x = object()
    return _x
"""


def test_a_suppression_with_a_reason_suppresses() -> None:
    comment = "  # cortex-audit: ignore[singleton-global] set up before any thread starts"
    findings = audit_source(_RACY.format(comment=comment))
    assert [f.rule.id for f in findings] == ["singleton-global"]
    assert findings[0].suppressed
    assert findings[0].suppressed_reason == "set up before any thread starts"


def test_a_suppression_on_the_line_above_applies_to_the_next_line() -> None:
    source = _RACY.replace(
        "    if _x is None:{comment}",
        "    # cortex-audit: ignore[singleton-global, shared-rmw] only main() calls it\n"
        "    if _x is None:",
    )
    findings = audit_source(source)
    assert [(f.rule.id, f.suppressed) for f in findings] == [("singleton-global", True)]


def test_a_suppression_without_a_reason_is_reported_and_does_not_suppress() -> None:
    findings = audit_source(_RACY.format(comment="  # cortex-audit: ignore[singleton-global]"))
    assert sorted((f.rule.id, f.suppressed) for f in findings) == [
        ("bad-suppression", False),
        ("singleton-global", False),
    ]


def test_a_suppression_naming_an_unknown_pattern_is_reported() -> None:
    comment = "  # cortex-audit: ignore[singleton-globl] typo"
    ids = sorted(f.rule.id for f in audit_source(_RACY.format(comment=comment)))
    assert ids == ["bad-suppression", "singleton-global"]


def test_a_suppression_for_another_pattern_does_not_apply() -> None:
    comment = "  # cortex-audit: ignore[shared-rmw] wrong pattern"
    findings = audit_source(_RACY.format(comment=comment))
    assert [(f.rule.id, f.suppressed) for f in findings] == [("singleton-global", False)]


# --------------------------------------------------------------------------------------
# Reports


@pytest.fixture(scope="module")
def sample_result() -> AuditResult:
    return audit_paths([CORPUS / "unsafe", CORPUS / "safe" / "suppressed_with_reason.py"])


def test_summary_table_counts_by_category(sample_result: AuditResult) -> None:
    rows = summary_rows(sample_result.active)
    assert sum(count for _c, count, _s in rows) == len(sample_result.active)
    assert (
        "SQLite",
        sum(f.rule.category == "SQLite" for f in sample_result.active),
        "critical",
    ) in (rows)
    text = format_text(sample_result, show_suppressed=True)
    assert "Category" in text
    assert "Count" in text
    assert "Severity" in text
    assert "docs/guide/singletons.md" in text
    assert "Suppressed" in text


def test_json_report_shape(sample_result: AuditResult) -> None:
    document: dict[str, Any] = json.loads(json.dumps(to_json_document(sample_result)))
    assert document["tool"] == "cortex-audit"
    assert document["files_scanned"] == len(sample_result.files)
    assert {row["category"] for row in document["summary"]} >= {"Singletons", "SQLite"}
    keys = {"path", "line", "column", "rule", "category", "severity", "message", "guide"}
    for entry in document["findings"] + document["suppressed"]:
        assert keys <= set(entry)
        assert entry["rule"] in RULES
        assert entry["severity"] in {s.label for s in Severity}
        assert entry["guide"].startswith("docs/guide/")
        assert isinstance(entry["line"], int)
        assert entry["line"] >= 1
    assert len(document["suppressed"]) == 2
    assert all(entry["suppression_reason"] for entry in document["suppressed"])


def test_sarif_report_shape(sample_result: AuditResult) -> None:
    log: dict[str, Any] = json.loads(json.dumps(to_sarif_document(sample_result)))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "cortex-audit"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == list(RULES)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"note", "warning", "error"}
    assert len(run["results"]) == len(sample_result.active) + len(sample_result.suppressed)
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in {"none", "note", "warning", "error"}
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert not Path(physical["artifactLocation"]["uri"]).is_absolute()
        assert physical["region"]["startLine"] >= 1
        assert physical["region"]["startColumn"] >= 1
        for suppression in result.get("suppressions", []):
            assert suppression["kind"] == "inSource"
            assert suppression["justification"]
    assert sum("suppressions" in r for r in run["results"]) == 2


# --------------------------------------------------------------------------------------
# Command line


def _write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


_HIGH = """
    import threading
    class C:
        def __init__(self):
            self.n = 0
        def bump(self):
            self.n += 1
    threading.Thread(target=C().bump).start()
    """
_LOW = """
    import sqlite3
    def f(path, names):
        for name in names:
            with sqlite3.connect(path) as conn:
                conn.execute("SELECT ?", (name,))
    """


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "clean", "ok.py", "x = 1\n")
    _write(tmp_path / "high", "racy.py", _HIGH)
    _write(tmp_path / "low", "slow.py", _LOW)
    assert main([str(tmp_path / "clean")]) == EXIT_CLEAN
    assert main([str(tmp_path / "high")]) == EXIT_FINDINGS
    assert main([str(tmp_path / "low")]) == EXIT_FINDINGS
    assert main([str(tmp_path / "low"), "--fail-on", "medium"]) == EXIT_CLEAN
    assert main([str(tmp_path / "high"), "--fail-on", "critical"]) == EXIT_CLEAN
    assert main([str(tmp_path / "high"), "--fail-on", "high"]) == EXIT_FINDINGS
    assert main([str(tmp_path / "high"), "--fail-on", "never"]) == EXIT_CLEAN
    _write(
        tmp_path / "info",
        "export.py",
        "def f(path):\n    with open(path, 'w') as h:\n        h.write('x')\n",
    )
    assert main([str(tmp_path / "info")]) == EXIT_CLEAN  # info is hidden and never fails
    assert main([str(tmp_path / "info"), "--fail-on", "info"]) == EXIT_FINDINGS
    assert main([str(tmp_path / "missing")]) == EXIT_USAGE
    assert main([]) == EXIT_USAGE
    assert main(["--format", "xml", str(tmp_path)]) == EXIT_USAGE
    assert main(["--list-rules"]) == EXIT_CLEAN
    out = capsys.readouterr().out
    assert all(rule_id in out for rule_id in RULES)


def test_cli_formats_and_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "src", "racy.py", _HIGH)
    assert main([str(tmp_path / "src"), "--format", "json"]) == EXIT_FINDINGS
    document = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in document["findings"]] == ["shared-rmw"]
    report = tmp_path / "audit.sarif"
    assert main([str(tmp_path / "src"), "--format", "sarif", "-o", str(report)]) == 1
    assert json.loads(report.read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert capsys.readouterr().out == ""


def test_a_baseline_hides_the_findings_it_records_and_only_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A team records today's findings once; later runs show only new ones, even after
    code is added above a recorded line, and a second copy of a recorded line is new."""
    monkeypatch.chdir(tmp_path)  # finding paths, and so baseline keys, are relative to it
    racy = _write(tmp_path / "src", "racy.py", _HIGH)
    assert main(["src"]) == EXIT_FINDINGS
    assert main(["src", "--write-baseline", "baseline.json"]) == EXIT_CLEAN
    recorded = json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))
    assert recorded["version"] == 1
    assert [(e["rule"], e["code"], e["count"]) for e in recorded["findings"]] == [
        ("shared-rmw", "self.n += 1", 1)
    ]
    capsys.readouterr()
    assert main(["src", "--baseline", "baseline.json"]) == EXIT_CLEAN
    assert "1 in the baseline" in capsys.readouterr().out
    # Lines added above the recorded one move it; it is still the known finding.
    racy.write_text("import os\n\n" + racy.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["src", "--baseline", "baseline.json"]) == EXIT_CLEAN
    # A second copy of the recorded line is new, and so is a finding in another file.
    racy.write_text(
        racy.read_text(encoding="utf-8").replace("self.n += 1", "self.n += 1\n        self.n += 1"),
        encoding="utf-8",
    )
    _write(tmp_path / "src", "more.py", _HIGH)
    capsys.readouterr()
    assert main(["src", "--baseline", "baseline.json", "--format", "json"]) == EXIT_FINDINGS
    document = json.loads(capsys.readouterr().out)
    reported = [(f["path"], f["line"], f["column"]) for f in document["findings"]]
    assert reported == [("src/more.py", 7, 9), ("src/racy.py", 10, 9)]
    assert document["in_baseline"] == 1
    # A baseline that cannot be written is a usage error naming it; nothing is left behind.
    capsys.readouterr()
    assert main(["src", "--write-baseline", "no-such-dir/baseline.json"]) == EXIT_USAGE
    assert "no-such-dir/baseline.json" in capsys.readouterr().err
    assert not (tmp_path / "no-such-dir").exists()


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (None, "cannot read"),
        ("{not json", "not a JSON baseline"),
        ('{"version": 2, "findings": []}', "not a version 1"),
        ('{"version": 1, "findings": {}}', "must be a list"),
        ('{"version": 1, "findings": [{"path": "a.py", "rule": "shared-rmw"}]}', "finding 0"),
        (
            '{"version": 1, "findings": [{"path": "a.py", "rule": "no-such", "code": "", '
            '"count": 1}]}',
            "unknown pattern",
        ),
        ("[" * 100_000 + "]" * 100_000, "not a JSON baseline"),
    ],
)
def test_a_bad_baseline_is_a_usage_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, fault: str
) -> None:
    _write(tmp_path / "src", "racy.py", _HIGH)
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main([str(tmp_path / "src"), "--baseline", str(path)]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert str(path) in error
    assert fault in error
    if content is not None:
        assert path.read_text(encoding="utf-8") == content  # nothing rewritten


def test_the_documented_options_are_the_command_line_options() -> None:
    """The guide's option table of ``python -m cortex.audit`` lists every option the parser
    has, and nothing else."""
    from cortex.audit.cli import build_parser

    guide = (ROOT / "docs" / "guide" / "audit.md").read_text(encoding="utf-8")
    table = guide.split("| option | effect |", 1)[1].split("\n\n", 1)[0]
    documented = {
        max(re.findall(r"`(--?[\w-]+|PATH)", row.split(" | ", 1)[0]), key=len)
        for row in table.splitlines()[2:]  # below the header and its rule
    }
    parser_options = {
        max(action.option_strings, key=len) if action.option_strings else "PATH"
        for action in build_parser()._actions
        if action.dest != "help"
    }
    assert documented == parser_options


def test_exclude_patterns(tmp_path: Path) -> None:
    _write(tmp_path, "app/core.py", "x = 1\n")
    _write(tmp_path, "app/demos/twin.py", _HIGH)
    _write(tmp_path, "app/build/gen.py", _HIGH)
    names = {p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])}
    assert names == {"app/core.py", "app/demos/twin.py"}  # build/ is a default exclude
    assert {p.name for p in discover([tmp_path], exclude=["demos"])} == {"core.py"}
    assert {p.name for p in discover([tmp_path], exclude=["app/demos"])} == {"core.py"}
    assert len(discover([tmp_path], default_excludes=False)) == 3
    assert main([str(tmp_path / "app"), "--exclude", "demos"]) == EXIT_CLEAN


def test_python_dash_m_runs_the_audit(tmp_path: Path) -> None:
    _write(tmp_path, "racy.py", _HIGH)
    completed = subprocess.run(
        [sys.executable, "-m", "cortex.audit", str(tmp_path), "--fail-on", "high"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == EXIT_FINDINGS, completed.stderr
    assert "shared-rmw" in completed.stdout


# --------------------------------------------------------------------------------------
# This project


def test_the_project_modules_are_clean() -> None:
    result = audit_paths([ROOT / "cortex"], exclude=["demos"])
    assert [f"{f.path}:{f.line} {f.rule.id}" for f in result.active] == []


def test_the_unsafe_twins_are_all_found() -> None:
    result = audit_paths([ROOT / "cortex" / "demos"])
    # Twins whose threads live in the tests carry no evidence of threads in their own
    # module: those are reported as info, still reported.
    found = {(Path(f.path).name, f.rule.id) for f in result.findings}
    assert any(f.severity >= Severity.HIGH for f in result.active)
    assert {
        ("singletons.py", "singleton-instance-attr"),
        ("sqlite.py", "sqlite-shared-connection"),
        ("sqlite.py", "sqlite-missing-commit"),
        ("files.py", "file-in-place-write"),
        ("files.py", "file-per-instance-lock"),
        ("shared_state.py", "shared-rmw"),
        ("shared_state.py", "sqlite-missing-commit"),
        ("resolver_cache.py", "split-lock-check-then-act"),
        ("spinner.py", "shared-iterator"),
        ("executor_loop.py", "asyncio-loop-bound"),
        ("llm_stats.py", "shared-rmw"),
    } <= found


def test_the_sample_application_and_its_fix() -> None:
    before = audit_paths([ROOT / "examples" / "audit_sample"])
    after = audit_paths([ROOT / "examples" / "audit_sample_fixed"])
    assert set(PATTERNS) - {f.rule.id for f in before.active} <= {
        "shared-reset-unlocked",
        "sqlite-use-after-return",  # its one use after the block reads cursor.lastrowid
        "sqlite-connect-per-call",
        "singleton-function-attr",
        "singleton-class-cache",
        "singleton-instance-attr",
        "sqlite-shared-connection",
        "split-lock-check-then-act",
        "file-prune-race",
    }
    assert after.active == []


# --------------------------------------------------------------------------------------
# The evaluation on real code (tests/audit_eval): data, reproductions, committed result

EVAL = ROOT / "tests" / "audit_eval"


def test_every_label_has_a_verdict_a_reason_and_a_known_rule() -> None:
    from cortex.audit.evaluate import load_labels

    labels = load_labels()
    assert len(labels) >= 100
    keys = [(label.corpus, label.path, label.line, label.rule) for label in labels]
    assert len(keys) == len(set(keys)), "a finding is labelled twice"
    for label in labels:
        assert label.rule in RULES, label
        assert len(label.reason) > 10, label
    corpora = json.loads((EVAL / "corpora.json").read_text(encoding="utf-8"))
    assert len(corpora["packages"]) >= 8
    assert all("==" not in p["version"] and p["version"] for p in corpora["packages"])


def test_the_upstream_shaped_reproductions_are_found_and_labelled() -> None:
    from cortex.audit.evaluate import load_labels

    labels = {
        (label.path, label.line, label.rule): label.verdict
        for label in load_labels()
        if label.corpus == "repro"
    }
    result = audit_paths([EVAL / "repro"])
    shown = {
        (
            Path(f.path).resolve().relative_to((EVAL / "repro").resolve()).as_posix(),
            f.line,
            f.rule.id,
        )
        for f in result.active
    }
    assert shown <= set(labels), shown - set(labels)  # nothing shown goes unlabelled
    true = {key for key, verdict in labels.items() if verdict}
    assert true <= shown, true - shown  # every labelled defect is reported
    # The lost commits are reported at the writes, in modules other than the pool's.
    assert ("appcore/kernel/limits.py", 16, "sqlite-missing-commit") in shown
    assert ("appcore/kernel/cache_index.py", 12, "sqlite-missing-commit") in shown
    assert ("appcore/router.py", 21, "shared-reset-unlocked") in shown


_SCORED_SAMPLE = """\
import json
import threading

_registry = None
STATE = "/var/lib/app/state.json"


def get_registry():
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry


class Registry:
    def __init__(self):
        self._lock = threading.Lock()


def save_state(data):
    with open(STATE, "w") as handle:
        json.dump(data, handle)


def export(data, path):
    with open(path, "w") as handle:
        json.dump(data, handle)
"""


def test_the_evaluation_scores_shown_hidden_and_unseen_defects_apart(tmp_path: Path) -> None:
    from cortex.audit.evaluate import Corpus, Label, evaluate, format_tables

    (tmp_path / "store.py").write_text(_SCORED_SAMPLE, encoding="utf-8")
    labels = [
        Label("sample", "store.py", 10, "singleton-global", True, "shown, a defect"),
        Label("sample", "store.py", 21, "file-in-place-write", False, "shown, not a defect"),
        Label("sample", "store.py", 26, "file-in-place-write", True, "info, a defect"),
        Label("sample", "store.py", 4, "shared-rmw", True, "a defect no rule reports"),
    ]
    result = evaluate(labels, [Corpus("sample", "test", tmp_path, (tmp_path,))])
    tally = result.by_corpus["sample"]
    assert (tally.true, tally.false, tally.info) == (1, 1, 1)
    assert (result.defects, result.found_defects) == (3, 1)
    assert (tally.defects, tally.found) == (3, 1)
    by_rule = {rule: (t.defects, t.found) for rule, t in result.by_rule.items()}
    assert by_rule == {
        "singleton-global": (1, 1),
        "file-in-place-write": (1, 0),
        "shared-rmw": (1, 0),
    }
    assert result.pooled()["all"].recall == pytest.approx(1 / 3)
    assert [m.line for m in result.missed] == [26, 4]
    assert [m.line for m in result.missed_as_info] == [26]
    assert (result.info_true, result.info_false) == (1, 0)
    every = result.as_dict()["any_severity"]
    assert every == {
        "true": 2,
        "false": 1,
        "unlabelled": 0,
        "precision": 0.667,
        "found": 2,
        "recall": 0.667,
        "hidden": ["sample:store.py:26 file-in-place-write"],
        "without_finding": 1,
    }
    assert "recall 2/3 = 0.67, precision 2/3 = 0.67; 1 missed defects" in format_tables(result)


FROZEN_ROUND = 27
"""The first round fetched after the rules were last changed (revision 24): its score and
every later round's are reported as measured (their rounds/roundN.json and the guide) and
are not held to the targets here. Every earlier round is one the rules were revised
against."""


REVISED_RECALL_FLOOR = 0.6
"""A regression floor, not the target, set a little below the recall measured on the
corpora the rules were revised against (docs/_data/; 0.60 at revision 24). That recall is
short of the target because every round since 14 brought defects of shapes no rule reads
(issue 14). A rule change that loses several found defects falls below it."""

REVISED_PRECISION_FLOOR = 0.65
"""A regression floor, not the target, set a little below the precision measured on the
corpora the rules were revised against (docs/_data/; 0.69 at revision 24). It met the
target until round 16 joined them; each revision since has removed part of the last
round's false findings, not all (issue 14). A rule change that shows several more false
findings falls below it."""


def test_the_committed_result_is_complete_and_the_revised_corpora_hold() -> None:
    from cortex.audit.evaluate import DIAGNOSTICS, PRECISION_TARGET, RECALL_TARGET, RESULT_FILE

    data = json.loads(RESULT_FILE.read_text(encoding="utf-8"))
    assert {"generated", "interpreter", "corpora", "rules", "recall", "pooled"} <= set(data)
    names = {c["name"] for c in data["corpora"]}
    assert {"cpython-stdlib", "upstream-cortex", "repro"} <= names
    assert len(names) >= 11
    assert not data["missing"], "the committed result must cover every corpus"
    assert all(c["unlabelled"] == 0 for c in data["corpora"])
    assert data["unlabelled_info"] == 0, "every info finding has a label too"
    # The committed result matches the labels: every defect labelled true is counted.
    labels = json.loads((EVAL / "labels.json").read_text(encoding="utf-8"))["labels"]
    total = [
        x
        for x in labels
        if x["verdict"] == "true" and x["corpus"] in names and x["rule"] not in DIAGNOSTICS
    ]
    assert data["recall"]["defects"] == len(total)
    assert {c["name"] for c in data["corpora"] if c["round"] == FROZEN_ROUND}
    assert (EVAL / "rounds" / f"round{FROZEN_ROUND}.json").is_file()
    # The corpora the rules were revised against: a rule change that shows several more
    # false findings over them, or loses several of their defects, fails here.
    revised = [c for c in data["corpora"] if c["round"] < FROZEN_ROUND]
    revised_names = {c["name"] for c in revised}
    defects = [
        x
        for x in labels
        if x["verdict"] == "true" and x["corpus"] in revised_names and x["rule"] not in DIAGNOSTICS
    ]
    missed = [m for m in data["recall"]["missed"] if m.split(":", 1)[0] in revised_names]
    assert defects
    assert RECALL_TARGET > REVISED_RECALL_FLOOR
    assert (len(defects) - len(missed)) / len(defects) >= REVISED_RECALL_FLOOR, missed
    true = sum(c["true"] for c in revised)
    false = sum(c["false"] for c in revised)
    assert PRECISION_TARGET > REVISED_PRECISION_FLOOR
    assert true / (true + false) >= REVISED_PRECISION_FLOOR
    upstream = next(c for c in data["corpora"] if c["name"] == "upstream-cortex")
    assert upstream["precision"] >= PRECISION_TARGET


UPSTREAM = Path("/work/shared/reference/upstream-cortex-0e4aeb386/cortex")


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="upstream Cortex is not on this machine")
def test_the_defects_the_guide_names_in_upstream_are_reported_where_they_are() -> None:
    result = audit_paths([UPSTREAM])
    shown = {
        (Path(f.path).resolve().relative_to(UPSTREAM.resolve()).as_posix(), f.rule.id)
        for f in result.active
    }
    assert ("hardware_detection.py", "singleton-global") in shown
    assert ("kernel_features/kv_cache_manager.py", "sqlite-missing-commit") in shown
    assert ("kernel_features/accelerator_limits.py", "sqlite-missing-commit") in shown
    assert ("installation_history.py", "sqlite-use-after-return") in shown
    assert ("parallel_llm.py", "asyncio-loop-bound") in shown
    assert ("llm_router.py", "shared-reset-unlocked") in shown


def test_the_guide_falls_back_on_the_committed_result(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sphinx")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "cortex_tables", ROOT / "docs" / "_ext" / "cortex_tables.py"
    )
    assert spec is not None
    assert spec.loader is not None
    cortex_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cortex_tables)
    monkeypatch.setenv("CORTEX_AUDIT_EVAL_LIVE", "0")
    data, source = cortex_tables._evaluation()
    assert "committed result" in source
    assert data["corpora"]
    rounds = cortex_tables._round_rows()
    recorded = (ROOT / "tests" / "audit_eval" / "rounds").glob("round*.json")
    assert {row[0] for row in rounds} == {p.stem.removeprefix("round") for p in recorded}
    assert len(cortex_tables._corpus_rows(data["corpora"])) == len(data["corpora"])
    every = data["any_severity"]
    sentence = cortex_tables._any_severity_paragraph(data["recall"], every).astext()
    assert "(--show-info)" in sentence
    assert f"The other {every['without_finding']} have no finding" in sentence
    assert len(every["hidden"]) + every["without_finding"] == len(data["recall"]["missed"])
    by_rule = {row[0].astext(): row for row in cortex_tables._first_pass_rule_rows()}
    assert "sqlite-missing-commit" in by_rule
    shown, true, false = (int(by_rule["sqlite-missing-commit"][i]) for i in (2, 3, 4))
    assert shown == true + false  # every first-pass finding has its label
