"""One decoder for every JSON and YAML value Cortex reads back: files, log lines, DB columns.

Bytes on disk are input like any other: another program, an older Cortex, a crash or a
hostile user may have written them. Parsing them can fail in more ways than a syntax error:

* nesting deep enough (``[[[[...`` in 200 KB) to raise :class:`RecursionError` in the
  parser or in whoever walks the value later; a YAML anchor can even make a value that
  contains itself;
* an integer longer than the interpreter's limit for converting strings to integers
  (4,300 digits by default since Python 3.11; ``ValueError`` from ``int()``);
* a YAML scalar whose constructor fails (``2020-13-45`` is a date with month 13);
* a valid document of the wrong type (a list where a mapping is expected).

Each of these becomes a :class:`CorruptFileError` that names the file (and, for a database
column, the table, the row and the column) and says what is wrong. Nothing here writes:
the bytes are left exactly as they were, and each caller documents what it does next (a
cache is rebuilt, a preference file is refused by name, a log search skips the line).

Example::

    value = load_json(raw, source=path, expect=dict)
    packages = json_column(row["packages"], path=db, table="transactions",
                           row=row["id"], column="packages", expect=list)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "MAX_DEPTH",
    "CorruptFileError",
    "CorruptRecordError",
    "check_value",
    "decode_utf8",
    "json_column",
    "load_json",
    "load_yaml",
]

MAX_DEPTH = 100
"""Deepest nesting of lists and mappings accepted in a decoded value. Cortex's own files
nest fewer than ten levels; the limit keeps every later walk of the value (copying,
comparing, dumping) far from the interpreter's recursion limit."""

# libyaml's loader when PyYAML was built with it (10x faster), else Python's.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What the parsers raise for content (as opposed to I/O) problems besides their own error
# classes: RecursionError for deep nesting, ValueError for over-long integers and bad
# dates, TypeError / OverflowError for values a constructor cannot build.
_CONTENT_ERRORS = (RecursionError, ValueError, TypeError, OverflowError)


class CorruptFileError(ValueError):
    """A file exists but cannot be used: undecodable, unparsable, of the wrong shape or too big.

    Attributes:
        path: the file.
        line: 1-based line of the problem when the parser reports one, else ``None``.
        reason: what is wrong, in words.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {reason} (the file was left untouched)")


class CorruptRecordError(CorruptFileError):
    """One stored value inside a database file cannot be decoded.

    Attributes:
        table: the table.
        row: the row's key (its id), or ``None`` when the query did not read it.
        column: the column holding the value.
    """

    def __init__(
        self, path: str | os.PathLike[str], table: str, row: object, column: str, reason: str
    ) -> None:
        self.table = table
        self.row = row
        self.column = column
        where = f"table {table}, " + ("" if row is None else f"row {row!r}, ")
        super().__init__(path, f"{where}column {column}: {reason}")


def _type_name(expect: type | tuple[type, ...]) -> str:
    if isinstance(expect, tuple):
        return " or ".join(t.__name__ for t in expect)
    return expect.__name__


def _shape_problem(value: Any, expect: type | tuple[type, ...] | None) -> str | None:
    """What is wrong with ``value``'s type, nesting or cycles; ``None`` when nothing is."""
    if expect is not None and (
        not isinstance(value, expect) or (isinstance(value, bool) and bool not in _as_tuple(expect))
    ):
        return f"expected a {_type_name(expect)}, found a {type(value).__name__}"
    # Iterative walk, so that checking a deep value cannot itself overflow the stack. A
    # container met again on the current path is a cycle (a YAML alias of its own parent).
    # A container shared through YAML aliases is walked again only when met deeper than
    # before, so a document of aliases of aliases ("billion laughs") is checked in linear
    # time instead of being expanded.
    on_path: set[int] = set()
    checked_at: dict[int, int] = {}  # id -> the deepest depth it was walked from
    stack: list[tuple[Any, int, bool]] = [(value, 1, False)]
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if not isinstance(node, (list, tuple, dict)):
            continue
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if id(node) in on_path:
            return "a value that contains itself"
        if depth <= checked_at.get(id(node), 0):
            continue  # its subtree was checked from this depth or a deeper one already
        checked_at[id(node)] = depth
        on_path.add(id(node))
        stack.append((node, depth, True))
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        stack.extend((child, depth + 1, False) for child in children)
    return None


def _as_tuple(expect: type | tuple[type, ...]) -> tuple[type, ...]:
    return expect if isinstance(expect, tuple) else (expect,)


def check_value(
    path: str | os.PathLike[str], value: Any, expect: type | tuple[type, ...] | None = None
) -> Any:
    """Return ``value`` if it has type ``expect`` and sane nesting, else raise.

    ``bool`` does not pass for ``int`` unless ``expect`` names ``bool``.

    Raises:
        CorruptFileError: naming ``path`` and the problem.
    """
    problem = _shape_problem(value, expect)
    if problem is not None:
        raise CorruptFileError(path, problem)
    return value


def decode_utf8(path: str | os.PathLike[str], raw: bytes | str) -> str:
    """``raw`` as text; bytes that are not UTF-8 raise :class:`CorruptFileError` with the line."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorruptFileError(path, f"not valid UTF-8 ({exc.reason})", line) from exc


def _content_reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "integer string conversion" in text:
        return "an integer with too many digits"
    return text


def load_json(
    raw: bytes | str,
    *,
    source: str | os.PathLike[str],
    expect: type | tuple[type, ...] | None = None,
    line: int | None = None,
) -> Any:
    """Parse one JSON document from ``source`` (a file, or the file a value came from).

    Args:
        raw: the document.
        source: the file named in errors.
        expect: the type the document must have (``None``: any).
        line: the line of ``source`` the document starts on, for errors (a JSON-lines log).

    Raises:
        CorruptFileError: empty, not UTF-8, not JSON, too deep, an over-long integer, a
            cycle or the wrong type; it names ``source``.
    """
    text = decode_utf8(source, raw)
    if not text.strip():
        raise CorruptFileError(source, "empty (expected JSON)", line)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        at = exc.lineno if line is None else line + exc.lineno - 1
        raise CorruptFileError(source, f"invalid JSON: {exc.msg}", at) from exc
    except _CONTENT_ERRORS as exc:
        raise CorruptFileError(source, f"invalid JSON: {_content_reason(exc)}", line) from exc
    problem = _shape_problem(value, expect)
    if problem is not None:
        raise CorruptFileError(source, problem, line)
    return value


def load_yaml(
    raw: bytes | str,
    *,
    source: str | os.PathLike[str],
    expect: type | tuple[type, ...] | None = None,
) -> Any:
    """Parse one YAML document with the safe loader; an empty document is ``None``.

    ``expect`` is checked only for a non-empty document (YAML's empty document is
    ``None``; callers supply their default).

    Raises:
        CorruptFileError: not UTF-8, not YAML, too deep, an over-long integer, a bad
            date, a value containing itself or the wrong type; it names ``source``.
    """
    text = decode_utf8(source, raw)
    try:
        value = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader (C or Python)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CorruptFileError(source, f"invalid YAML: {problem}", at) from exc
    except _CONTENT_ERRORS as exc:
        raise CorruptFileError(source, f"invalid YAML: {_content_reason(exc)}") from exc
    if value is None:
        return None
    problem = _shape_problem(value, expect)
    if problem is not None:
        raise CorruptFileError(source, problem)
    return value


def json_column(
    raw: str | bytes | None,
    *,
    path: str | os.PathLike[str],
    table: str,
    row: object,
    column: str,
    expect: type | tuple[type, ...] | None = None,
    default: Any = None,
) -> Any:
    """Decode the JSON stored in one database column; ``default`` for NULL or ``""``.

    Raises:
        CorruptRecordError: the value cannot be decoded or has the wrong type; it names
            the database file, the table, the row and the column.
    """
    if raw is None or raw in ("", b""):
        return default
    try:
        return load_json(raw, source=path, expect=expect)
    except CorruptFileError as exc:
        raise CorruptRecordError(path, table, row, column, exc.reason) from exc
