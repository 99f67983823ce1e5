"""Rotating logs shared by processes, and operation timings: before and after.

Standalone (the standard library and ``concurrent-log-handler``). Four processes log 1,000
numbered lines each to one file that rotates every 4 KiB. Before: the standard
``RotatingFileHandler``, whose processes rename each other's files away, so lines vanish.
After: ``ConcurrentRotatingFileHandler``, which locks across processes, so every line is
found exactly once. Neither handler is slowed down: the processes collide by themselves.
Then two overlapping operations with the same name are timed on a manual clock, keyed by
name (before) and per instance (after)::

    python examples/logging_before_after.py
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import re
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from concurrent_log_handler import ConcurrentRotatingFileHandler

PROCESSES, LINES, MAX_BYTES, BACKUPS = 4, 1000, 4096, 200  # BACKUPS: more than ever needed


class QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The standard handler; a failed record is counted instead of printed."""

    failed = 0

    def handleError(self, record: logging.LogRecord) -> None:
        QuietRotatingFileHandler.failed += 1


def child(kind: str, path: str, index: int, barrier: Any) -> None:
    # ---- before: each process rotates on its own ------------------------------------
    if kind == "before":
        handler: logging.Handler = QuietRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS
        )
    # ---- after: one lock file orders every write and rotation -----------------------
    else:
        handler = ConcurrentRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS)
    logger = logging.getLogger(f"example.{index}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    barrier.wait()
    for n in range(LINES):
        logger.info("p%02d-%05d %s", index, n, "x" * 40)
    handler.close()


def lost_and_duplicated(kind: str) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "app.log")
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(PROCESSES)
        procs = [ctx.Process(target=child, args=(kind, path, i, barrier)) for i in range(PROCESSES)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        seen: Counter[str] = Counter()
        for log in Path(folder).glob("app.log*"):
            seen.update(re.findall(r"\bp\d+-\d+\b", log.read_text(encoding="utf-8")))
    return PROCESSES * LINES - len(seen), sum(seen.values()) - len(seen)


class Clock:
    """A clock that moves only when told to (``clock.now += 0.05``): exact durations."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ---- timings: before keyed by name, after keyed by instance ----------------------------
class TimerByName:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.started: dict[str, float] = {}

    def start(self, name: str) -> str:
        self.started[name] = self.clock()  # a second "install" overwrites the first
        return name

    def end(self, key: str) -> float | None:
        began = self.started.pop(key, None)
        return None if began is None else self.clock() - began


class TimerByInstance:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()  # guards started and _next
        self.started: dict[str, float] = {}
        self._next = 0

    def start(self, name: str) -> str:
        with self._lock:
            self._next += 1
            key = f"{name}#{self._next}"
            self.started[key] = self.clock()
        return key

    def end(self, key: str) -> float | None:
        with self._lock:
            began = self.started.pop(key, None)
        return None if began is None else self.clock() - began


def seconds(value: float | None) -> str:
    return "missing (None)" if value is None else f"{value:.2f} s"


def overlapping(timer: TimerByName | TimerByInstance) -> tuple[float | None, float | None]:
    """An install of 0.2 s with a second install of 0.05 s starting inside it."""
    timer.clock.now = 0.0
    first = timer.start("install")
    timer.clock.now = 0.05
    second = timer.start("install")
    timer.clock.now = 0.10
    second_took = timer.end(second)
    timer.clock.now = 0.20
    return timer.end(first), second_took


if __name__ == "__main__":
    before_lost, before_dup = lost_and_duplicated("before")
    after_lost, after_dup = lost_and_duplicated("after")
    total = PROCESSES * LINES
    print(
        f"before: RotatingFileHandler lost {before_lost} of {total} lines, duplicated {before_dup}"
    )
    print(
        f"after:  ConcurrentRotatingFileHandler lost {after_lost} of {total} lines, "
        f"duplicated {after_dup}"
    )
    by_name = overlapping(TimerByName(Clock()))
    by_instance = overlapping(TimerByInstance(Clock()))
    print(
        f"before: timings keyed by name: first {seconds(by_name[0])}, "
        f"second {seconds(by_name[1])} (expected 0.20 s and 0.05 s)"
    )
    print(
        f"after:  timings per instance: first {seconds(by_instance[0])}, "
        f"second {seconds(by_instance[1])} (expected 0.20 s and 0.05 s)"
    )
    first, second = by_instance
    timings_ok = first is not None and second is not None and first > 0.15 > second
    before_shown = before_lost > 0 and by_name[0] is None
    raise SystemExit(0 if before_shown and after_lost == after_dup == 0 and timings_ok else 1)
