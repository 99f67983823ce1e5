"""SQLite crash trials: writers killed with ``SIGKILL`` at random moments lose no commit.

``python -m tests.support.crash KIND DIRECTORY TRIALS SEED`` runs :func:`crash_trials` in a
fresh, single-threaded helper process and prints one JSON document. Each trial forks a
writer that loops over transactions on one database (the same file for every trial of a
helper, so each crash is recovered on top of all the earlier ones), reporting on a pipe:

* ``b K`` before transaction ``K`` starts,
* ``i K`` once the transaction is open and has written (the kill may land inside it),
* ``c K [ID]`` once it is **committed** (the acknowledgement; ``ID`` is the record id a
  history returns).

The helper waits for the first acknowledgement, sleeps a random 0-10 ms (fixed by
``SEED``), kills the writer with ``SIGKILL`` (no ``finally``, no ``atexit``, no flush), then
opens the database with a plain connection and checks ``PRAGMA integrity_check``, that
every transaction acknowledged so far (in this trial and all earlier ones) is present, and
that no transaction is present in part.

``KIND``:

* ``sqlite`` -- transactions of :data:`ROWS_PER_TX` rows through a
  :class:`~cortex.utils.db_pool.SQLiteConnectionPool`, acknowledged after the checkout
  committed (the fix).
* ``history`` -- :meth:`cortex.installation_history.InstallationHistory.record_installation`,
  acknowledged when it returns (the fix, through an application store). ``i K`` comes from
  a trace callback on the pool's connection when the ``INSERT`` runs.
* ``early-ack`` -- the unsafe twin: the same pool writer acknowledges once the first row of
  the transaction is written, *before* the rest of its rows and the commit, as a caller that
  reports success before ``commit`` does. A kill in that window (the real remaining work,
  nothing slowed down) rolls back a transaction the caller was told was stored: an
  acknowledged row is lost.

``SIGKILL`` kills the process, not the machine: what the writer had passed to ``write()``
is in the kernel's page cache and survives. That is why ``PRAGMA synchronous=OFF`` is not a
twin here (it only loses data on an OS crash or power cut, which a process kill does not
simulate), and why an acknowledgement sent after ``commit()`` returns must always hold.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "KINDS",
    "ROWS_PER_TX",
    "TrialOutcome",
    "crash_trials",
    "main",
]

KINDS = ("sqlite", "history", "early-ack")
"""The writers :func:`crash_trials` knows; ``early-ack`` is the unsafe twin."""

ROWS_PER_TX = 8
"""Rows each ``sqlite`` / ``early-ack`` transaction inserts (all or none must be found)."""

TX_STRIDE = 1_000_000
"""Transaction ``K`` of trial ``T`` is numbered ``T * TX_STRIDE + n``: unique per helper."""

_PAYLOAD = "x" * 300
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS crash_rows ("
    "tx INTEGER NOT NULL, part INTEGER NOT NULL, payload TEXT NOT NULL, "
    "PRIMARY KEY (tx, part))"
)


@dataclass(frozen=True)
class TrialOutcome:
    """What one killed writer left behind, checked by the helper."""

    trial: int
    integrity: str
    """``PRAGMA integrity_check``'s answer: ``"ok"`` or the first problem."""
    acked: int
    """Transactions this writer acknowledged before it was killed."""
    acked_total: int
    """Transactions acknowledged in this trial and every earlier one of this helper."""
    lost: int
    """Acknowledged transactions (of any trial so far) not found in the database."""
    partial: int
    """Transactions found with only some of their rows (never allowed)."""
    in_flight: str
    """Where the kill found the unacknowledged transaction: ``"none"`` (between
    transactions), ``"begun"`` (announced, nothing written yet) or ``"open"`` (inside the
    transaction, after its first write)."""
    in_flight_committed: bool
    """The in-flight transaction is in the database (it committed before the kill landed,
    only its acknowledgement was lost); False means it was rolled back."""


class _Channel:
    """The writer's end of the pipe: one short line per event (atomic below PIPE_BUF)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, event: str, tx: int, extra: str = "") -> None:
        os.write(self.fd, f"{event} {tx} {extra}\n".encode())


# -- writers (run in the forked child; never return) -------------------------------------


def _pool_writer(path: Path, trial: int, channel: _Channel, *, early_ack: bool) -> None:
    from cortex.utils.db_pool import SQLiteConnectionPool

    pool = SQLiteConnectionPool(path, pool_size=1, timeout=10.0)
    tx = trial * TX_STRIDE
    while True:
        tx += 1
        channel.send("b", tx)
        with pool.get_connection() as conn:
            for part in range(ROWS_PER_TX):
                conn.execute(
                    "INSERT INTO crash_rows (tx, part, payload) VALUES (?, ?, ?)",
                    (tx, part, _PAYLOAD),
                )
                if part == 0:
                    channel.send("i", tx)
                    if early_ack:
                        channel.send("c", tx)  # the defect: success reported before the commit
        if not early_ack:
            channel.send("c", tx)  # the checkout has committed


def _history_writer(path: Path, trial: int, channel: _Channel) -> None:
    from cortex.installation_history import (
        InstallationHistory,
        InstallationType,
    )
    from tests.support.fakes import StaticProbe

    history = InstallationHistory(path, probe=StaticProbe())
    current = [0]

    def trace(statement: str) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            channel.send("i", current[0])

    with history._pool.get_connection() as conn:  # pool_size 1 in effect: one thread
        conn.set_trace_callback(trace)
    tx = trial * TX_STRIDE
    while True:
        tx += 1
        current[0] = tx
        channel.send("b", tx)
        record_id = history.record_installation(
            InstallationType.INSTALL,
            [f"crash-{tx}"],
            [f"apt-get install crash-{tx}"],
            datetime.now(),
        )
        channel.send("c", tx, record_id)


def _writer(kind: str, path: Path, trial: int, fd: int) -> None:
    channel = _Channel(fd)
    if kind == "history":
        _history_writer(path, trial, channel)
    else:
        _pool_writer(path, trial, channel, early_ack=kind == "early-ack")


# -- checking (in the helper) --------------------------------------------------------------


def _found(kind: str, path: Path) -> tuple[str, dict[int, int], dict[str, int]]:
    """``(integrity, {tx: rows found}, {record id: tx})`` read through a fresh connection."""
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        counts: dict[int, int] = {}
        ids: dict[str, int] = {}
        if kind == "history":
            for record_id, packages in conn.execute("SELECT id, packages FROM installations"):
                (name,) = json.loads(packages)
                tx = int(name.removeprefix("crash-"))
                counts[tx] = counts.get(tx, 0) + 1
                ids[record_id] = tx
        else:
            for tx, rows in conn.execute("SELECT tx, count(*) FROM crash_rows GROUP BY tx"):
                counts[int(tx)] = int(rows)
        return integrity, counts, ids
    finally:
        conn.close()


def _prepare(kind: str, path: Path) -> None:
    if kind == "history":
        return  # InstallationHistory creates its own schema in the writer
    conn = sqlite3.connect(str(path))
    try:
        conn.execute(_SCHEMA)
        conn.commit()
    finally:
        conn.close()


def _read_rest(fd: int) -> bytes:
    """Everything left in the pipe (the writer is dead: read until end of file)."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_events(raw: bytes) -> list[tuple[str, int, str]]:
    events = []
    for line in raw.decode().splitlines():
        event, tx, *extra = line.split()
        events.append((event, int(tx), extra[0] if extra else ""))
    return events


def _wait_first_ack(fd: int, trial: int) -> bytes:
    """Read from the pipe until the first ``c`` event; return everything read."""
    seen = b""
    while b"\nc " not in b"\n" + seen:
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeError(f"the writer of trial {trial} died before its first commit")
        seen += chunk
    return seen


def crash_trials(
    kind: str, directory: str | os.PathLike[str], trials: int, *, seed: int = 0
) -> list[TrialOutcome]:  # pragma: no cover - runs in a helper process
    """Kill ``trials`` successive writers of one database; check it after each kill.

    Call this in a fresh, single-threaded process (forking a process that has threads is
    unsafe): :func:`main` is the entry point. See the module documentation for ``kind``.

    Raises:
        ValueError: ``kind`` is not one of :data:`KINDS`.
        RuntimeError: a writer died before its first acknowledgement.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    rng = random.Random(seed)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("history.db" if kind == "history" else "crash.db")
    _prepare(kind, path)
    _preload(kind)
    acked_all: dict[int, str] = {}  # tx -> record id ("" for the pool writers)
    outcomes: list[TrialOutcome] = []
    for trial in range(1, trials + 1):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: never returns
            try:
                os.close(read_end)
                _writer(kind, path, trial, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        try:
            head = _wait_first_ack(read_end, trial)
            time.sleep(rng.uniform(0.0, 0.010))
            os.kill(pid, signal.SIGKILL)
        finally:
            os.waitpid(pid, 0)
        try:
            events = _parse_events(head + _read_rest(read_end))
        finally:
            os.close(read_end)
        outcomes.append(_check(kind, path, trial, events, acked_all))
    return outcomes


def _preload(kind: str) -> None:
    """Import what the writers need once, before the first fork (each fork inherits it)."""
    from cortex.utils import db_pool  # noqa: F401

    if kind == "history":
        import cortex.demos.sqlite
        import cortex.installation_history  # noqa: F401


def _check(
    kind: str,
    path: Path,
    trial: int,
    events: list[tuple[str, int, str]],
    acked_all: dict[int, str],
) -> TrialOutcome:
    acked = {tx: extra for event, tx, extra in events if event == "c"}
    acked_all.update(acked)
    begun = [tx for event, tx, _ in events if event == "b"]
    opened = {tx for event, tx, _ in events if event == "i"}
    pending = [tx for tx in begun if tx not in acked]
    in_flight_tx = pending[-1] if pending else None
    integrity, counts, ids = _found(kind, path)
    full = 1 if kind == "history" else ROWS_PER_TX
    if kind == "history":
        lost = sum(1 for tx, record_id in acked_all.items() if ids.get(record_id) != tx)
    else:
        lost = sum(1 for tx in acked_all if counts.get(tx, 0) != full)
    partial = sum(1 for rows in counts.values() if rows != full)
    state = "none" if in_flight_tx is None else "open" if in_flight_tx in opened else "begun"
    return TrialOutcome(
        trial=trial,
        integrity=integrity,
        acked=len(acked),
        acked_total=len(acked_all),
        lost=lost,
        partial=partial,
        in_flight=state,
        in_flight_committed=in_flight_tx is not None and in_flight_tx in counts,
    )


def main(argv: list[str] | None = None, out: Callable[[str], Any] = print) -> int:
    """``python -m tests.support.crash KIND DIRECTORY TRIALS SEED``: print the outcomes.

    The JSON document is ``{"kind": KIND, "trials": [TrialOutcome, ...]}``.
    """
    kind, directory, trials, seed = (sys.argv[1:] if argv is None else argv)[:4]
    outcomes = crash_trials(kind, directory, int(trials), seed=int(seed))
    out(json.dumps({"kind": kind, "trials": [asdict(o) for o in outcomes]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
