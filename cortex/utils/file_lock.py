"""One lock per file path that excludes other threads *and* other processes.

:func:`path_lock` returns the process-wide :class:`PathLock` for a path (one object per
normalised path, kept in a registry), so every instance of every class that touches
``~/.cortex/preferences.yaml`` waits on the same lock. Upstream locked per instance: two
``ConfigManager`` objects, or two processes, still wrote the file at the same time.

A :class:`PathLock` is two locks taken in a fixed order:

1. a :class:`threading.RLock`, which orders the threads of this process (re-entrant, so a
   thread that already holds it may take it again);
2. a ``filelock.FileLock`` on a side file (``.<name>.lock`` beside the target; beside
   the link when the target is a symlink), which orders processes with ``flock``. The
   kernel drops it when its holder dies, even by ``SIGKILL``, so a crash never leaves
   the file locked.

A file is known by its final name: a symlink and the file it points to are two paths, with
two locks. Cortex reaches each of its files through one name (``~/.cortex/<file>``).

Only the thread holding the ``RLock`` ever touches the ``FileLock``, and the ``FileLock``
is created with ``thread_local=False``. This keeps the design independent of how a
``filelock`` release treats threads (its locks are re-entrant per object and, since 3.11,
thread-local by default): exclusion between threads comes from the ``RLock``, exclusion
between processes from ``flock``.

Example::

    with path_lock(prefs_path):
        data = read(prefs_path)
        data["theme"] = "dark"
        atomic_write_text(prefs_path, dump(data))
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from pathlib import Path
from types import TracebackType

import filelock

__all__ = ["DEFAULT_TIMEOUT_S", "FileLockTimeout", "PathLock", "lock_file_for", "path_lock"]

DEFAULT_TIMEOUT_S = 30.0
"""How long :meth:`PathLock.acquire` waits by default before raising :class:`FileLockTimeout`."""


class FileLockTimeout(TimeoutError):
    """The lock on a file was not obtained in time; the message names the file."""


def _normalise(path: str | os.PathLike[str]) -> str:
    """Absolute path with ``..`` and the directories' symlinks resolved, so one file has one
    key; a final component that is a symlink is kept (the lock belongs beside the link)."""
    absolute = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(absolute)
    return os.path.join(os.path.realpath(directory), name)


def lock_file_for(path: str | os.PathLike[str]) -> Path:
    """The side file whose ``flock`` guards ``path``: ``.<name>.lock`` in the same directory.

    When ``path`` is a symlink the lock file is beside the link (inside ``~/.cortex``), not
    beside the file it points to, which may be anywhere.
    """
    target = Path(_normalise(path))
    return target.with_name(f".{target.name}.lock")


class PathLock:
    """Exclusive access to one file path, across threads and processes; re-entrant per thread.

    Do not build one directly: :func:`path_lock` hands out the single instance per path.
    Use it as a context manager, or call :meth:`acquire` and :meth:`release` in pairs.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        """The normalised path this lock guards."""
        self.lock_path = lock_file_for(path)
        """The side file locked with ``flock``."""
        # Guards the whole critical section between threads of this process, and with it
        # _depth and _file_lock (only the owning thread touches them).
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._file_lock: filelock.BaseFileLock | None = None
        self._pid = os.getpid()

    def acquire(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Wait until this thread holds the path; ``timeout`` < 0 waits forever.

        Raises:
            FileLockTimeout: another thread or process kept the lock for ``timeout`` s.
            FileNotFoundError: the file's directory does not exist.
        """
        deadline = None if timeout < 0 else time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=-1 if timeout < 0 else timeout):
            raise FileLockTimeout(
                f"timed out after {timeout} s waiting for the lock on {self.path}"
            )
        try:
            if self._depth == 0:
                if self._file_lock is None or self._pid != os.getpid():
                    self._pid = os.getpid()
                    self._file_lock = filelock.FileLock(
                        str(self.lock_path), mode=0o600, thread_local=False
                    )
                remaining = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    self._file_lock.acquire(timeout=remaining, poll_interval=0.001)
                except filelock.Timeout as exc:
                    raise FileLockTimeout(
                        f"timed out after {timeout} s waiting for the lock on {self.path} "
                        f"(held by another process through {self.lock_path})"
                    ) from exc
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        """Give the path back; the last release of the owning thread unlocks the file."""
        try:
            self._depth -= 1
            if self._depth == 0 and self._file_lock is not None:
                self._file_lock.release()
        finally:
            self._thread_lock.release()

    def held_by_this_thread(self) -> bool:
        """True when the calling thread holds the lock (for assertions)."""
        # RLock._is_owned exists on every CPython version this project supports.
        return bool(self._thread_lock._is_owned())  # type: ignore[attr-defined]

    def __enter__(self) -> PathLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<PathLock {self.path}>"


# One PathLock per normalised path. Weak values: a lock nobody holds a reference to can
# go; the next caller makes a new one, which is safe because no thread can be inside it.
_locks: weakref.WeakValueDictionary[str, PathLock] = weakref.WeakValueDictionary()
# Guards _locks: the check-then-insert in path_lock must be one step.
_locks_guard = threading.Lock()


def path_lock(path: str | os.PathLike[str]) -> PathLock:
    """The process-wide :class:`PathLock` for ``path`` (same object for every spelling)."""
    key = _normalise(path)
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = PathLock(key)
            _locks[key] = lock
        return lock


def _reset_after_fork() -> None:  # pragma: no cover - runs in forked children
    """A forked child must not inherit locks held by threads that do not exist in it."""
    global _locks_guard, _locks  # noqa: PLW0603
    _locks_guard = threading.Lock()
    _locks = weakref.WeakValueDictionary()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
