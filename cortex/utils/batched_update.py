"""Group commit for a locked file: many threads' appends, one read-modify-write per batch.

:func:`cortex.utils.locked_file.update_json` serialises every update on the file's lock,
and each one reads, checks and rewrites the whole file. A hundred threads appending one
record each therefore wait in a queue of a hundred rewrites, and the last may wait past the
lock's timeout. :class:`BatchedUpdate` queues the records instead: one thread at a time
(the *writer*) takes everything queued and applies it in a single locked update, while the
others wait for the batch that carries their record. Under contention a hundred appends
become a handful of rewrites; alone, a submit is one update, as before.

Invariants (``_cond`` guards every attribute):

* a record is in ``_queued`` until a batch holding it is on disk; a batch that fails is
  put back at the front, so a failure loses nothing and keeps the order;
* at most one writer; it holds no lock while it reads or writes the file;
* :meth:`BatchedUpdate.submit` returns when its record is on disk, or raises the error of
  the batch that carried it (the record stays queued for the next batch).

Example::

    history = BatchedUpdate(path, lambda old, new: (old + new)[-100:], keep_last=100)
    history.submit({"title": "done"})
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from cortex.utils.file_lock import DEFAULT_TIMEOUT_S
from cortex.utils.locked_file import update_json
from cortex.utils.thread_utils import at_fork_reinit

__all__ = ["BatchedUpdate"]

T = TypeVar("T")

# Every instance, so that a forked child can reset them (see _after_fork_in_child).
_instances: weakref.WeakSet[BatchedUpdate[Any]] = weakref.WeakSet()
_instances_lock = threading.Lock()  # guards _instances (WeakSet is not thread-safe to grow)


class BatchedUpdate(Generic[T]):
    """Appends to one JSON file, written in batches by whichever caller is free.

    Args:
        path: the JSON file (its directory must exist).
        apply: ``apply(current, items)`` returns the file's new value; ``items`` are the
            batch in submission order. It runs under the file's lock: keep it short. What
            it raises fails the batch (the file is left as it was).
        default: the value of a missing file.
        keep_last: when ``apply`` keeps only the newest N records, N: older records still
            queued (while writes fail) are dropped instead of growing the queue.
        timeout: seconds each batch waits for the file's lock.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        apply: Callable[[Any, list[T]], Any],
        *,
        default: Callable[[], Any] = list,
        keep_last: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.path = Path(path)
        self._apply = apply
        self._default = default
        self._keep_last = keep_last
        self._timeout = timeout
        self._reset_state()
        self.batches = 0
        """Batches written so far (each one locked read-modify-write of the file)."""
        with _instances_lock:
            _instances.add(self)

    def _reset_state(self) -> None:
        """Fresh state: from ``__init__``, or in a forked child's only thread (no lock)."""
        self._cond = threading.Condition()
        self._queued: list[tuple[int, T]] = []  # (ticket, record), oldest first
        # Tickets handed out: the last submitted record's number.
        # cortex-audit: ignore[shared-reset-unlocked] before sharing, or in a fork's only thread
        self._issued = 0
        self._waiting: set[int] = set()  # tickets whose submitter waits for their batch
        self._done: set[int] = set()  # of those, the ones on disk (or dropped, see below)
        self._failed: dict[int, BaseException] = {}  # of those, failed: the batch's error
        self._writing = False  # a writer is reading or writing the file

    def submit(self, record: T) -> None:
        """Queue ``record`` and return once a batch has written it.

        Raises:
            CorruptFileError: the file cannot be read (it is left as it was).
            cortex.utils.file_lock.FileLockTimeout: the file's lock was not obtained in
                time. In both cases ``record`` stays queued and is written by the next
                batch that succeeds.
            OSError: the file could not be written (same).
        """
        with self._cond:
            self._issued += 1
            ticket = self._issued
            self._queued.append((ticket, record))
            self._drop_beyond_keep_last()
            self._waiting.add(ticket)
            try:
                while self._writing:
                    self._cond.wait()
                    if self._settled(ticket):
                        return
                if self._settled(ticket):  # settled while this thread was not waiting
                    return
            except BaseException:
                self._waiting.discard(ticket)
                raise
            self._waiting.discard(ticket)  # the writer itself: its batch carries it
            self._writing = True
        self._write_batch()

    def flush(self) -> None:
        """Write whatever is queued now (a no-op when nothing is).

        Raises:
            The same errors as :meth:`submit`; the records stay queued.
        """
        with self._cond:
            while self._writing:
                self._cond.wait()
            if not self._queued:
                return
            self._writing = True
        self._write_batch()

    def discard(self) -> None:
        """Forget the queued records (their submitters return); a batch in flight still lands."""
        with self._cond:
            gone, self._queued = self._queued, []
            self._done.update(t for t, _record in gone if t in self._waiting)
            self._cond.notify_all()

    def pending(self) -> list[T]:
        """A copy of the records not yet on disk, oldest first."""
        with self._cond:
            return [record for _ticket, record in self._queued]

    def _drop_beyond_keep_last(self) -> None:
        """Only the newest ``keep_last`` records can end up in the file: forget older ones.

        Their submitters return as if written (``apply`` would have dropped them anyway).
        The caller holds ``_cond``.
        """
        if self._keep_last is None or len(self._queued) <= self._keep_last:
            return
        gone = self._queued[: len(self._queued) - self._keep_last]
        del self._queued[: len(gone)]
        self._done.update(t for t, _record in gone if t in self._waiting)

    def _settled(self, ticket: int) -> bool:
        """Whether ``ticket``'s batch is over: True, or its error raised (caller holds _cond)."""
        if ticket in self._done:
            self._done.discard(ticket)
            self._waiting.discard(ticket)
            return True
        error = self._failed.pop(ticket, None)
        if error is not None:
            self._waiting.discard(ticket)
            raise error
        return False

    def _write_batch(self) -> None:
        """As the writer: write everything queued in one update, then hand the role on."""
        batch: list[tuple[int, T]] = []
        error: BaseException | None = None
        try:
            with self._cond:
                batch, self._queued = self._queued, []
            update_json(
                self.path,
                lambda current: self._apply(current, [record for _t, record in batch]),
                default=self._default,
                timeout=self._timeout,
            )
        except BaseException as exc:  # re-raised below, once the role is handed on
            error = exc
        finally:  # even if interrupted: a writer that never hands on would hang the rest
            with self._cond:
                waiting = [t for t, _record in batch if t in self._waiting]
                if error is None:
                    self.batches += 1
                    self._done.update(waiting)
                else:
                    self._queued[:0] = batch  # back in front: nothing lost, order kept
                    self._drop_beyond_keep_last()
                    self._failed.update(dict.fromkeys(waiting, error))
                self._writing = False
                self._cond.notify_all()
        if error is not None:
            raise error


@at_fork_reinit
def _after_fork_in_child() -> None:
    """In a forked child: new conditions, no writer, nothing queued.

    A thread of the parent may have been writing (the child would wait for it forever) or
    waiting; records queued in the parent are the parent's to write, not the child's.
    """
    global _instances_lock  # noqa: PLW0603 - a lock held at fork time is lost in the child
    _instances_lock = threading.Lock()
    for updates in list(_instances):
        updates._reset_state()
