"""Atomic file replacement: readers see the old file or the new one, never a torn mix.

The recipe: write a temporary file in the same directory (so :func:`os.replace` is a
rename on one filesystem), flush and ``fsync`` it, copy the old file's permission bits,
rename it over the target, then ``fsync`` the directory so the rename itself survives a
power cut. A process killed at any point leaves either the old content or the new.

A target that is a symbolic link is written *through*: the link stays a link and the file
it points to is replaced (its temporary file is made beside that file, so the rename stays
on one filesystem). A dangling link gets its target created, ``0600``. Replacing the link
itself would silently detach the user's file (a dotfile manager's link to a file in a
repository, say) and leave a copy with the target's permissions where the link was. A
chain of links is followed to its end; a loop, or a target whose directory is missing, is
an error naming the link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "ensure_private_dir", "write_target"]


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


def write_target(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the end of its symlink chain.

    Raises:
        OSError: ``ELOOP`` for a loop of links; ``FileNotFoundError`` when a link points
            into a directory that does not exist. Both name ``path`` and where it points.
    """
    given = Path(path)
    if not given.is_symlink():
        return given
    resolved = Path(os.path.realpath(given))
    if resolved.is_symlink():  # realpath stops inside a loop
        raise OSError(errno.ELOOP, f"symlink loop at {resolved}", os.fspath(given))
    if not resolved.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"symlink points to {resolved}, whose directory does not exist",
            os.fspath(given),
        )
    return resolved


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically.

    Args:
        path: the file to create or replace. Its directory must exist. A symbolic link
            is written through (see the module docstring).
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
    target = write_target(path)  # a symlink is written through, and stays a link
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
