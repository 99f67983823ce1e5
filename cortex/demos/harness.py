"""Release many threads at the same instant and collect what each returned.

Races whose window holds real work (I/O, a database open, a subprocess) show when every
thread starts from a :class:`threading.Barrier`; races between bytecodes need the forced
interleaving of :mod:`cortex.testing.preempt` or the exploration of
:mod:`cortex.demos.interleavings` on a GIL build. Nothing here widens a window. Every wait
here has a timeout, and a hang
dumps every thread's stack before failing, so a deadlock is a clear error, not a stuck run.
"""

from __future__ import annotations

import faulthandler
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cortex.demos.ledger import LEDGER

__all__ = ["ThreadsHung", "run_python_processes", "run_together"]

_CHECKOUT = Path(__file__).resolve().parents[2]  # the directory that holds cortex/

T = TypeVar("T")


class ThreadsHung(RuntimeError):
    """Some threads did not finish within the timeout (their stacks went to stderr)."""


def _dump_all_stacks() -> None:
    try:
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    except (AttributeError, ValueError, OSError):  # stderr replaced by a capture object
        for thread_id, frame in sys._current_frames().items():
            print(f"--- thread {thread_id} ---", file=sys.stderr)
            traceback.print_stack(frame, file=sys.stderr)


def run_together(
    fn: Callable[[int], T], threads: int, *, timeout: float = 60.0, area: str = "threads"
) -> list[T]:
    """Call ``fn(i)`` from ``threads`` threads released together; return results in order.

    The threads and calls are added to :data:`cortex.demos.ledger.LEDGER` under ``area``.

    Raises:
        ThreadsHung: a thread was still running after ``timeout`` seconds.
        BaseException: the first exception raised by any ``fn`` call, re-raised here.
    """
    barrier = threading.Barrier(threads, timeout=timeout)
    results: list[T | None] = [None] * threads
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = fn(index)  # distinct index per thread: no shared slot
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout)
    if any(thread.is_alive() for thread in pool):
        _dump_all_stacks()
        raise ThreadsHung(f"{sum(t.is_alive() for t in pool)} of {threads} threads hung")
    LEDGER.add(area, threads=threads, operations=threads)
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def run_python_processes(
    code: str, argvs: list[list[str]], *, timeout: float = 120.0, area: str = "processes"
) -> list[tuple[str, str]]:
    """Start one ``python -c code *argv`` per entry of ``argvs`` at once; wait for them all.

    The children import this checkout's ``cortex``. Returns each child's ``(stdout,
    stderr)`` in order and adds the processes to :data:`cortex.demos.ledger.LEDGER`.

    Raises:
        RuntimeError: a child exited with a non-zero status (its stderr is in the message).
    """
    env = {**os.environ, "PYTHONPATH": str(_CHECKOUT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, *argv],
            cwd=_CHECKOUT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    outputs = [child.communicate(timeout=timeout) for child in children]
    LEDGER.add(area, processes=len(children))
    for child, (_out, err) in zip(children, outputs, strict=True):
        if child.returncode != 0:
            raise RuntimeError(f"child process exited with {child.returncode}: {err[-2000:]}")
    return outputs
