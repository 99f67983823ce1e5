"""Read-modify-write of JSON and YAML files, safe across threads, processes and crashes.

Built on the two shared primitives: :func:`cortex.utils.file_lock.path_lock` (one lock per
path, across threads and processes) and :func:`cortex.utils.atomic_file.atomic_write_bytes`
(temp file, fsync, rename). :func:`locked_update` holds the lock from the read to the
rename, so no update is lost, and the file on disk is always the old or the new content.

A file that cannot be parsed raises :class:`~cortex.utils.decode.CorruptFileError` (from
the shared decoder, :mod:`cortex.utils.decode`), which names the file and, where the
parser knows it, the line. The file is left exactly as it was: nothing here replaces a
corrupt file unless the caller decides to (as the hardware cache does).

Example::

    def add_one(prefs: dict[str, Any]) -> dict[str, Any]:
        prefs["runs"] = prefs.get("runs", 0) + 1
        return prefs

    update_yaml("~/.cortex/preferences.yaml", add_one)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cortex.utils.atomic_file import atomic_write_bytes
from cortex.utils.decode import CorruptFileError, check_value, load_json, load_yaml
from cortex.utils.file_lock import DEFAULT_TIMEOUT_S, path_lock

__all__ = [
    "MAX_FILE_BYTES",
    "CorruptFileError",  # defined in cortex.utils.decode; importable here as before
    "dump_json",
    "dump_yaml",
    "locked_update",
    "parse_json",
    "parse_yaml",
    "read_json",
    "read_yaml",
    "update_json",
    "update_yaml",
    "write_json",
    "write_yaml",
]

T = TypeVar("T")

# libyaml's dumper when PyYAML was built with it (10x faster), else Python's.
_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest file the readers accept (64 MiB); a bigger one is reported, not loaded."""


def parse_json(path: str | os.PathLike[str], raw: bytes) -> Any:
    """Parse ``raw`` (the content of ``path``) as JSON; an empty file is corrupt.

    The shared decoder (:func:`cortex.utils.decode.load_json`) also refuses nesting too
    deep, integers too long and values that contain themselves, by name.
    """
    return load_json(raw, source=path)


def parse_yaml(path: str | os.PathLike[str], raw: bytes) -> Any:
    """Parse ``raw`` (the content of ``path``) as YAML with the safe loader.

    An empty document is ``None`` (YAML's own rule); callers supply their default.
    """
    return load_yaml(raw, source=path)


def dump_json(value: Any) -> bytes:
    """JSON bytes, indented and key-sorted so diffs of the file stay readable."""
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")


def dump_yaml(value: Any) -> bytes:
    """YAML bytes from the safe dumper (block style, insertion order kept)."""
    text: str = yaml.dump(value, Dumper=_SafeDumper, default_flow_style=False, sort_keys=False)
    return text.encode("utf-8")


def _read_raw(path: Path, max_bytes: int) -> bytes | None:
    """The file's bytes, or ``None`` if it does not exist; refuses files over ``max_bytes``."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        return None
    if len(raw) > max_bytes:
        raise CorruptFileError(path, f"larger than the {max_bytes}-byte limit")
    return raw


def _check_shape(path: Path, value: Any, default: Any) -> Any:
    if value is None:
        return default
    return check_value(path, value, None if default is None else type(default))


# --------------------------------------------------------------------------------------
# Reads, writes and updates
# --------------------------------------------------------------------------------------


def locked_update(
    path: str | os.PathLike[str],
    fn: Callable[[T], T],
    *,
    read: Callable[[Path, bytes], T],
    write: Callable[[T], bytes],
    default: Callable[[], T],
    mode: int = 0o600,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = MAX_FILE_BYTES,
) -> T:
    """Apply ``fn`` to the file's value under the path's lock and write the result atomically.

    Holds :func:`~cortex.utils.file_lock.path_lock` from the read to the rename, so
    concurrent updates from any thread or process apply one after another and none is lost.

    Args:
        path: the file; its directory must exist.
        fn: receives the current value (``default()`` when the file does not exist) and
            returns the new one. It runs under the lock: keep it short, and never let it
            take another file's lock.
        read: turns the file's bytes into a value; raises
            :class:`~cortex.utils.decode.CorruptFileError`.
        write: turns a value into the bytes to store.
        default: the value of a missing file.
        mode: permission bits of a new file (an existing file keeps its own).
        timeout: seconds to wait for the lock.
        max_bytes: refuse (as corrupt) a file larger than this.

    Returns:
        The value written.

    Raises:
        CorruptFileError: the file exists but cannot be read; it is left untouched.
        cortex.utils.file_lock.FileLockTimeout: the lock was not obtained in time.
        OSError: the new content could not be written (the old file stays in place).
    """
    target = Path(path)
    lock = path_lock(target)
    lock.acquire(timeout)
    try:
        raw = _read_raw(target, max_bytes)
        current = default() if raw is None else read(target, raw)
        new = fn(current)
        atomic_write_bytes(target, write(new), mode=mode)
        return new
    finally:
        lock.release()


def read_json(
    path: str | os.PathLike[str], default: Any = None, *, max_bytes: int = MAX_FILE_BYTES
) -> Any:
    """The JSON value in ``path``, or ``default`` when the file does not exist.

    No lock is needed: files written by this module are replaced whole, so a reader sees
    the old or the new version. When ``default`` is not ``None`` the value must have the
    same type (a ``dict`` default rejects a file holding a list).

    Raises:
        CorruptFileError: the file is empty, not UTF-8, not JSON, of the wrong type or too big.
    """
    target = Path(path)
    raw = _read_raw(target, max_bytes)
    if raw is None:
        return default
    return _check_shape(target, parse_json(target, raw), default)


def read_yaml(
    path: str | os.PathLike[str], default: Any = None, *, max_bytes: int = MAX_FILE_BYTES
) -> Any:
    """The YAML value in ``path``; ``default`` when the file is missing or an empty document.

    Raises:
        CorruptFileError: the file is not UTF-8, not YAML, of the wrong type or too big.
    """
    target = Path(path)
    raw = _read_raw(target, max_bytes)
    if raw is None:
        return default
    return _check_shape(target, parse_yaml(target, raw), default)


def _json_reader(default: Callable[[], Any]) -> Callable[[Path, bytes], Any]:
    return lambda path, raw: _check_shape(path, parse_json(path, raw), default())


def _yaml_reader(default: Callable[[], Any]) -> Callable[[Path, bytes], Any]:
    return lambda path, raw: _check_shape(path, parse_yaml(path, raw), default())


def update_json(
    path: str | os.PathLike[str],
    fn: Callable[[Any], Any],
    *,
    default: Callable[[], Any] = dict,
    mode: int = 0o600,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Any:
    """:func:`locked_update` for a JSON file; a missing file starts as ``default()``."""
    return locked_update(
        path,
        fn,
        read=_json_reader(default),
        write=dump_json,
        default=default,
        mode=mode,
        timeout=timeout,
    )


def update_yaml(
    path: str | os.PathLike[str],
    fn: Callable[[Any], Any],
    *,
    default: Callable[[], Any] = dict,
    mode: int = 0o600,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Any:
    """:func:`locked_update` for a YAML file; a missing or empty file starts as ``default()``."""
    return locked_update(
        path,
        fn,
        read=_yaml_reader(default),
        write=dump_yaml,
        default=default,
        mode=mode,
        timeout=timeout,
    )


def write_json(
    path: str | os.PathLike[str],
    value: Any,
    *,
    mode: int = 0o600,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Replace ``path`` with ``value`` as JSON, atomically and under the path's lock.

    Unlike :func:`update_json` this does not read the old content, so it also replaces a
    corrupt file: use it only where overwriting is the intent.
    """
    with_lock = path_lock(path)
    with_lock.acquire(timeout)
    try:
        atomic_write_bytes(path, dump_json(value), mode=mode)
    finally:
        with_lock.release()


def write_yaml(
    path: str | os.PathLike[str],
    value: Any,
    *,
    mode: int = 0o600,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Replace ``path`` with ``value`` as YAML, atomically and under the path's lock."""
    with_lock = path_lock(path)
    with_lock.acquire(timeout)
    try:
        atomic_write_bytes(path, dump_yaml(value), mode=mode)
    finally:
        with_lock.release()
