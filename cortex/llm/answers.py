"""Reading a model's answer: which lines are commands, which are notes.

Models answer in many shapes. :func:`parse_answer` is the one place that turns any of them
into candidate command lines and notes; the candidates then go through the allow-list
(:func:`cortex.install_plan.validate_command`), which alone decides what may run. Parsing
never makes a line *more* runnable: it only removes decoration (fences, list markers, a
``$`` prompt, a ``sudo`` is left for the validator) and sets prose aside.

Formats understood, in the order they are tried:

1. **JSON** ``{"commands": ["...", ...]}`` (upstream Cortex's format), bare or inside a
   fenced block; a bare JSON list of strings too. Any other text around it becomes notes.
2. **Fenced blocks** (three backticks or three tildes, any language tag; an unclosed
   fence runs to the end): the fence lines themselves are dropped, the lines inside and outside are
   read as plain lines.
3. **Plain lines**: each line is a candidate unless it is prose.

For lines: ``#`` comment lines are notes; list markers (``1.``, ``2)``, ``-``, ``*``,
``•``) and a leading ``$`` prompt are removed; a line wrapped in single backticks is
unwrapped. A line with shell syntax (``a && b``, pipes) stays one candidate, so the
validator rejects it whole and the user sees what the model wrote. A line is **prose**
when its first word cannot be a program name (a capitalised or punctuated word such as
``Here``, ``First,`` or ``Note:``) or it ends with a colon. Prose is never rejected as a
command, and a line that looks like a command is never silently dropped: it is a
candidate, so a dangerous one is shown as rejected.

The format this parser likes best, and the one :data:`PREFERRED_FORMAT` asks for in the
system prompt, is the simplest: one command per line, nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = ["PREFERRED_FORMAT", "ParsedAnswer", "parse_answer"]

PREFERRED_FORMAT = (
    "Answer with the shell commands only, one command per line: no prose, no Markdown, "
    "no code fences, no numbering."
)
"""The sentence the default system prompt uses to ask for the format parsed best."""

_MAX_JSON_CHARS = 100_000  # a longer "JSON" answer is not parsed as JSON (nesting bombs)
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w.+-]*)\s*$")
_LIST_MARKER = re.compile(r"^(?:\d{1,3}[.)]|[-*•+])\s+")
_PROGRAM = re.compile(r"^[a-z0-9_./][a-z0-9_.+/-]*$")


@dataclass(frozen=True)
class ParsedAnswer:
    """What an answer holds: candidate command lines and notes, and its format."""

    lines: tuple[str, ...]
    """Candidate command lines, decoration removed, in answer order (not yet validated)."""
    notes: tuple[str, ...]
    """Comments and prose, in answer order."""
    format: str
    """``"json"``, ``"fenced"`` or ``"plain"``."""


def _json_commands(text: str) -> list[str] | None:
    """The command list of a JSON answer, or ``None`` when ``text`` is not one."""
    text = text.strip()
    if not text.startswith(("{", "[")) or len(text) > _MAX_JSON_CHARS:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        data = data.get("commands")
    if isinstance(data, list) and all(isinstance(c, str) for c in data):
        return data
    return None


def _clean(raw: str) -> str:
    """One line without list marker, ``$`` prompt or wrapping backticks."""
    line = _LIST_MARKER.sub("", raw.strip(), count=1)
    if len(line) > 2 and line.startswith("`") and line.endswith("`") and line.count("`") == 2:
        line = line[1:-1].strip()
    if line.startswith("$ "):
        line = line[2:].strip()
    return line


def _is_prose(line: str) -> bool:
    first = line.split(maxsplit=1)[0]
    return not _PROGRAM.match(first) or line.endswith(":")


def _read_lines(raws: list[str], commands: list[str], notes: list[str]) -> None:
    for raw in raws:
        line = _clean(raw)
        if not line:
            continue
        if line.startswith("#"):
            notes.append(line.lstrip("#").strip())
        elif _is_prose(line):
            notes.append(line)
        else:
            commands.append(line)


def parse_answer(content: str) -> ParsedAnswer:
    """Split a model's answer into candidate command lines and notes (see the module)."""
    whole = _json_commands(content)
    if whole is not None:
        return ParsedAnswer(tuple(c.strip() for c in whole if c.strip()), (), "json")
    outside: list[str] = []
    blocks: list[list[str]] = []
    current: list[str] | None = None
    closing = ""
    for raw in content.splitlines():
        fence = _FENCE.match(raw)
        if current is None and fence:
            current, closing = [], fence.group(1)[0] * 3
        elif current is not None and raw.strip().startswith(closing) and not raw.strip()[3:]:
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(raw)
        else:
            outside.append(raw)
    if current is not None:  # an unclosed fence runs to the end of the answer
        blocks.append(current)
    commands: list[str] = []
    notes: list[str] = []
    # Outside the fences, as in a plain answer: prose is a note, a command is a candidate.
    _read_lines(outside, commands, notes)
    kind = "fenced" if blocks else "plain"
    for block in blocks:
        listed = _json_commands("\n".join(block))
        if listed is not None:
            commands.extend(c.strip() for c in listed if c.strip())
            kind = "json"
        else:
            _read_lines(block, commands, notes)
    return ParsedAnswer(tuple(commands), tuple(notes), kind)
