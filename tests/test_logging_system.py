"""logging_system: every line kept across processes and rotations, timings per instance.

The cross-process and timing checks run twice: on the fix, where they must hold, and on the
unsafe twin from ``cortex.demos.logging_rotation``, where they must fail on every run.
Every logger writes under ``tmp_path``; nothing touches the real ``~/.cortex``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cortex.demos.harness import run_together
from cortex.demos.logging_rotation import (
    ManualClock,
    UnsafeOperationTimer,
    count_lines,
    overlapping_same_name,
    run_rotation,
)
from cortex.logging_system import (
    ColoredConsoleFormatter,
    CortexLogger,
    LogContext,
    LogEntry,
    StructuredFormatter,
)

pytestmark = pytest.mark.thread_unsafe(
    reason=(
        "the tests share log files and process-wide logging handlers and count exact lines; "
        "they start their own threads and processes where concurrency is the point"
    )
)

MakeLogger = Callable[..., CortexLogger]


@pytest.fixture
def make_logger(tmp_path: Path) -> Iterator[MakeLogger]:
    """Build CortexLoggers in tmp_path (console silenced) and close them all afterwards."""
    made: list[CortexLogger] = []

    def make(**kwargs: object) -> CortexLogger:
        kwargs.setdefault("name", "cortex-test")
        kwargs.setdefault("log_dir", tmp_path / "logs")
        kwargs.setdefault("console_level", "CRITICAL")
        logger = CortexLogger(**kwargs)  # type: ignore[arg-type]
        made.append(logger)
        return logger

    yield make
    for logger in made:
        logger.close()


# -- several processes, one rotating file -------------------------------------------------

# No pause is added to either handler: 1,000 lines per process keep the four processes
# rotating at the same time whatever their start-up skew; 200 backups outlast every rotation.
PROCESSES, LINES, MAX_BYTES, BACKUPS = 4, 1000, 4096, 200


def test_processes_sharing_one_log_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    outcome = run_rotation(
        "cortex",
        tmp_path,
        processes=PROCESSES,
        lines=LINES,
        max_bytes=MAX_BYTES,
        backup_count=BACKUPS,
    )
    assert outcome.files > 10  # rotated many times
    assert outcome.expected == PROCESSES * LINES
    assert outcome.lost == 0
    assert outcome.duplicated == 0
    assert outcome.errors == 0
    assert outcome.intact


@pytest.mark.twin
def test_the_same_check_catches_the_standard_rotating_handler(tmp_path: Path) -> None:
    outcome = run_rotation(
        "stdlib",
        tmp_path,
        processes=PROCESSES,
        lines=LINES,
        max_bytes=MAX_BYTES,
        backup_count=BACKUPS,
    )
    assert outcome.lost > 0
    assert not outcome.intact


def test_threads_of_one_process_keep_every_line_across_rotations(
    make_logger: MakeLogger, tmp_path: Path
) -> None:
    # Not a race twin: inside one process the handler's own lock already orders threads,
    # and the standard handler passes this too. It guards the shared handler set and the
    # rotation from many threads; the race is across processes, tested above.
    logger = make_logger(name="rotation", max_bytes=2048, backup_count=60)

    def work(i: int) -> None:
        for n in range(100):
            logger.info(f"p{i:02d}-{n:05d}")

    run_together(work, 8)
    seen = count_lines(tmp_path / "logs", "rotation.log")
    assert len(seen) == 800
    assert set(seen.values()) == {1}


# -- operation timings --------------------------------------------------------------------


def test_overlapping_operations_with_one_name_are_both_timed_right(
    make_logger: MakeLogger,
) -> None:
    logger = make_logger()
    clock = ManualClock()
    logger._clock = clock
    assert overlapping_same_name(logger.start_operation, logger.end_operation, clock) == (
        30.0,
        5.0,
    )
    assert logger.running_operations() == []


@pytest.mark.twin
def test_the_timing_check_catches_timings_keyed_by_name() -> None:
    clock = ManualClock()
    twin = UnsafeOperationTimer(clock)
    assert overlapping_same_name(twin.start_operation, twin.end_operation, clock) != (30.0, 5.0)


def test_operation_ids_end_the_exact_instance_from_any_thread(make_logger: MakeLogger) -> None:
    logger = make_logger()
    clock = ManualClock()
    logger._clock = clock
    outer = logger.start_operation("download")
    clock.now = 2.0
    inner = logger.start_operation("download")
    assert outer != inner
    clock.now = 7.0
    ended: list[float | None] = []
    thread = threading.Thread(target=lambda: ended.append(logger.end_operation(outer)))
    thread.start()
    thread.join()
    assert ended == [7.0]
    clock.now = 8.0
    assert logger.end_operation("download") == 6.0  # the name finds the remaining one
    assert logger.end_operation("download") is None  # nothing left: a warning, no crash


def test_a_bare_name_ends_the_innermost_operation_of_the_calling_thread_only(
    make_logger: MakeLogger,
) -> None:
    logger = make_logger()
    clock = ManualClock()
    logger._clock = clock
    logger.start_operation("step")
    clock.now = 1.0
    logger.start_operation("step")
    clock.now = 4.0
    assert logger.end_operation("step") == 3.0  # innermost first
    other: list[float | None] = []
    thread = threading.Thread(target=lambda: other.append(logger.end_operation("step")))
    thread.start()
    thread.join()
    assert other == [None]  # another thread's operation is never ended by name
    assert logger.end_operation("step") == 4.0


def test_operation_ids_stay_unique_from_many_threads(make_logger: MakeLogger) -> None:
    # Stress for the fix's table; the deterministic race check is the overlap test above.
    logger = make_logger()

    def work(_i: int) -> list[str]:
        ids = []
        for _ in range(50):
            ids.append(logger.start_operation("install"))
            assert logger.end_operation("install") is not None
        return ids

    ids = [op for batch in run_together(work, 8) for op in batch]
    assert len(set(ids)) == 400
    assert logger.running_operations() == []


def test_log_context_times_a_block_and_logs_a_failure(make_logger: MakeLogger) -> None:
    logger = make_logger()
    with LogContext(logger, "configure") as ctx:
        assert ctx.operation_id in logger.running_operations()
    assert ctx.duration is not None
    with pytest.raises(ValueError, match="bad"), LogContext(logger, "configure"):
        raise ValueError("bad value")
    errors = logger.search_logs("configure failed", level="ERROR")
    assert len(errors) == 1
    assert "ValueError: bad value" in (errors[0]["exception"] or "")
    assert logger.running_operations() == []


# -- handlers, files and formats ----------------------------------------------------------


def test_two_loggers_with_one_name_share_handlers(make_logger: MakeLogger, tmp_path: Path) -> None:
    first = make_logger(name="shared")
    second = make_logger(name="shared")
    assert len(logging.getLogger("shared").handlers) == 4  # console, text, JSON, errors
    first.info("only once")
    second.info("also once")
    text = (tmp_path / "logs" / "shared.log").read_text(encoding="utf-8")
    assert text.count("only once") == 1
    assert text.count("also once") == 1
    first.close()
    second.info("still logging")  # the second user keeps the handlers open
    second.close()
    assert logging.getLogger("shared").handlers == []
    assert "still logging" in (tmp_path / "logs" / "shared.log").read_text(encoding="utf-8")


def test_same_name_with_new_settings_replaces_the_handlers(
    make_logger: MakeLogger, tmp_path: Path
) -> None:
    make_logger(name="moved", log_dir=tmp_path / "a")
    newer = make_logger(name="moved", log_dir=tmp_path / "b")
    assert len(logging.getLogger("moved").handlers) == 4
    newer.info("here")
    assert "here" in (tmp_path / "b" / "moved.log").read_text(encoding="utf-8")


def test_default_directory_is_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with CortexLogger(name="cortex-home", console_level="CRITICAL") as logger:
        logger.info("hello")
        assert logger.log_dir == (tmp_path / ".cortex" / "logs").resolve()
    assert (tmp_path / ".cortex" / "logs" / "cortex-home.log").exists()
    assert oct((tmp_path / ".cortex" / "logs").stat().st_mode & 0o777) == "0o700"


def test_levels_go_to_the_right_files_with_context(make_logger: MakeLogger, tmp_path: Path) -> None:
    logger = make_logger(file_level="INFO")
    logger.debug("not in files")
    logger.info("installed", context={"package": "nginx", "version": "1.24"})
    logger.warning("slow mirror")
    try:
        raise OSError("disk full")
    except OSError:
        logger.error("write failed", context={"path": "/var"}, exc_info=True)
    logger.critical("giving up")
    logs = tmp_path / "logs"
    text = (logs / "cortex-test.log").read_text(encoding="utf-8")
    assert "not in files" not in text
    assert 'installed | {"package": "nginx", "version": "1.24"}' in text
    errors = (logs / "cortex-test.error.log").read_text(encoding="utf-8")
    assert "write failed" in errors
    assert "giving up" in errors
    assert "slow mirror" not in errors
    entries = [
        json.loads(line)
        for line in (logs / "cortex-test.json.log").read_text(encoding="utf-8").splitlines()
    ]
    assert [e["level"] for e in entries] == ["INFO", "WARNING", "ERROR", "CRITICAL"]
    assert entries[0]["context"] == {"package": "nginx", "version": "1.24"}
    assert "OSError: disk full" in entries[2]["exception"]
    assert entries[0]["function"] == "test_levels_go_to_the_right_files_with_context"


def test_console_writes_to_the_current_stderr(
    make_logger: MakeLogger, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = make_logger(console_level="WARNING")
    logger.info("quiet")
    logger.warning("loud", context={"n": 1})
    err = capsys.readouterr().err
    assert "quiet" not in err
    assert 'WARNING loud {"n": 1}' in err


def test_search_filters_by_pattern_level_time_and_limit(make_logger: MakeLogger) -> None:
    logger = make_logger(max_bytes=1024, backup_count=50)
    for n in range(40):
        logger.info(f"installed package-{n}", context={"index": n})
    logger.error("failed package-x")
    found = logger.search_logs(r"package-\d+$")
    assert len(found) == 40  # rotated copies included
    assert found[0]["message"] == "installed package-0"
    assert [e["message"] for e in logger.search_logs("package", limit=2)] == [
        "installed package-39",
        "failed package-x",
    ]
    assert [e["message"] for e in logger.search_logs("package", level="error")] == [
        "failed package-x"
    ]
    assert logger.search_logs('"index": 7}') != []  # the context is searched too
    assert logger.search_logs("[unclosed") == []  # an invalid regex is taken literally
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert logger.search_logs("package", since=future) == []
    assert len(logger.search_logs("package", since=future - timedelta(days=1))) == 41


def test_export_writes_json_csv_and_text(make_logger: MakeLogger, tmp_path: Path) -> None:
    logger = make_logger()
    logger.info("one", context={"k": "v"})
    logger.error("two")
    out = logger.export_logs(tmp_path / "export.json")
    exported = json.loads(Path(out).read_text(encoding="utf-8"))
    assert [e["message"] for e in exported] == ["one", "two"]
    assert LogEntry(**exported[0]).context == {"k": "v"}
    rows = list(
        csv.reader(
            io.StringIO(
                Path(logger.export_logs(tmp_path / "e.csv", format="csv", level="ERROR")).read_text(
                    encoding="utf-8"
                )
            )
        )
    )
    assert rows[0][:4] == ["timestamp", "level", "logger", "message"]
    assert [r[3] for r in rows[1:]] == ["two"]
    text = Path(logger.export_logs(tmp_path / "e.txt", format="text")).read_text(encoding="utf-8")
    assert text.count("\n") == 2
    with pytest.raises(ValueError, match="unknown export format"):
        logger.export_logs(tmp_path / "e.xml", format="xml")  # type: ignore[arg-type]


def test_stats_summary_and_cleanup(make_logger: MakeLogger, tmp_path: Path) -> None:
    logger = make_logger(max_bytes=512, backup_count=20)
    for n in range(30):
        logger.info(f"line {n} " + "x" * 40)
    logger.error("boom")
    logger.error("boom")
    logger.critical("fire")
    logger.log_function_call("install", args=("nginx",), kwargs={"force": True})
    logger.log_system_info()
    stats = logger.get_log_stats()
    assert stats["entries_by_level"]["INFO"] >= 30
    assert stats["entries_by_level"]["ERROR"] == 2
    assert stats["total_files"] > 3
    assert stats["file_count"] == stats["total_files"]  # upstream's name
    assert stats["total_size_bytes"] == sum(f["size_bytes"] for f in stats["files"])
    summary = logger.get_error_summary(hours=1)
    assert summary["total_errors"] == 3
    assert summary["by_level"] == {"ERROR": 2, "CRITICAL": 1}
    assert summary["top_errors"][0] == {"message": "boom", "count": 2}
    assert summary["most_recent"]["message"] == "fire"
    assert logger.search_logs("Calling install")[0]["context"]["kwargs"] == {"force": "True"}
    old = time.time() - 40 * 86400
    rotated = sorted((tmp_path / "logs").glob("cortex-test.log.*"))
    assert rotated
    for path in rotated:
        os.utime(path, (old, old))
    assert logger.clear_old_logs(days=30) == len(rotated)
    assert (tmp_path / "logs" / "cortex-test.log").exists()
    assert logger.clear_old_logs(days=30) == 0


def test_malformed_json_lines_are_skipped(make_logger: MakeLogger, tmp_path: Path) -> None:
    logger = make_logger()
    logger.info("good")
    with (tmp_path / "logs" / "cortex-test.json.log").open("a", encoding="utf-8") as f:
        f.write('{"truncated": \n[1, 2]\n')
    assert [e["message"] for e in logger.search_logs(".")] == ["good"]


def test_formatters() -> None:
    record = logging.LogRecord("cortex", logging.ERROR, __file__, 1, "msg %s", ("x",), None)
    record.context = {"a": 1}
    document = json.loads(StructuredFormatter().format(record))
    assert document["message"] == "msg x"
    assert document["context"] == {"a": 1}
    assert document["exception"] is None
    colored = ColoredConsoleFormatter(use_color=True).format(record)
    assert colored.startswith("\033[31mERROR\033[0m msg x")
    plain = ColoredConsoleFormatter(use_color=False).format(record)
    assert plain == 'ERROR msg x {"a": 1}'
    assert isinstance(ColoredConsoleFormatter().use_color, bool)
    with pytest.raises(ValueError, match="unknown log level"):
        CortexLogger(console_level="LOUD")
