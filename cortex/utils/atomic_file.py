"""Atomic file replacement: readers see the old file or the new one, never a torn mix.

The recipe: write a temporary file in the same directory (so :func:`os.replace` is a
rename on one filesystem), flush and ``fsync`` it, copy the old file's permission bits,
rename it over the target, then ``fsync`` the directory so the rename itself survives a
power cut. A process killed at any point leaves either the old content or the new.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "ensure_private_dir"]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_dir(path: str | os.PathLike[str], *, mode: int = 0o700) -> Path:
    """Create ``path`` (and its parents) if missing; a directory created here gets ``mode``.

    An existing directory keeps its permissions: the user may have chosen them.

    Raises:
        NotADirectoryError: ``path`` or one of its parents is a file.
        PermissionError: the directory cannot be created.
    """
    directory = Path(path)
    if directory.is_dir():
        return directory
    try:
        directory.mkdir(parents=True, mode=mode)
    except FileExistsError:
        if not directory.is_dir():
            raise NotADirectoryError(f"{directory} exists and is not a directory") from None
        return directory  # another thread or process created it first
    os.chmod(directory, mode)  # mkdir's mode is masked by the umask
    return directory


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically.

    Args:
        path: the file to create or replace. Its directory must exist.
        data: the complete new content.
        mode: permission bits for a new file; an existing file keeps its own.

    Raises:
        OSError: the temporary file could not be created, written or renamed (for example
            ``PermissionError``, or ``NotADirectoryError`` when the parent is a file). The
            target is unchanged and the temporary file is removed. An error that named no
            file (a full disk while writing or syncing) is raised again as the same class,
            ``errno`` and ``strerror`` with ``filename`` set to ``path``, chained from the
            original.
    """
    target = Path(path)
    directory = target.parent
    with contextlib.suppress(FileNotFoundError):  # a new file gets `mode`
        mode = stat.S_IMODE(target.stat().st_mode)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            # A write or fsync error (ENOSPC, EIO, ...) names no file: name the target.
            raise type(exc)(exc.errno, exc.strerror, os.fspath(target)) from exc
        raise
    _fsync_directory(directory)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", mode: int = 0o600
) -> None:
    """Replace ``path`` with ``text`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding), mode=mode)
