"""Text from a model or a file, made safe to write to a terminal.

A terminal obeys the control characters in what it is sent: ``ESC [ 1 A`` moves the cursor
up, ``ESC [ 2 K`` erases a line, ``ESC [ 8 m`` hides what follows, a carriage return
overwrites the line, and the bidirectional overrides (U+202E...) show text in another
order than the bytes. Text from a model, a cache, a history database or a log can carry
any of them, so printed as is it could forge or hide lines of the plan that
``cortex install`` shows before ``--execute`` asks for confirmation.

:func:`printable` renders every such character visibly instead, as the Python escape that
names it (``\\x1b``, ``\\r``, ``\\u202e``), so the reader sees that it is there and the
terminal never acts on it. Everything Cortex prints that did not come from Cortex itself
goes through it.
"""

from __future__ import annotations

__all__ = ["UNSAFE_FORMAT_CHARACTERS", "printable"]

UNSAFE_FORMAT_CHARACTERS = frozenset(
    "\u061c"  # Arabic letter mark
    "\u200e\u200f"  # left-to-right and right-to-left marks
    "\u2028\u2029"  # line and paragraph separators (a new line in some terminals)
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)
"""Characters outside C0/C1 that reorder or break the displayed text; shown escaped."""

_NAMED = {"\r": "\\r", "\b": "\\b", "\t": "\\t", "\n": "\\n"}


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _unsafe(char: str, keep: str) -> bool:
    code = ord(char)
    if char in keep:
        return False
    return code < 0x20 or 0x7F <= code <= 0x9F or char in UNSAFE_FORMAT_CHARACTERS


def printable(text: object, *, newlines: bool = True, tabs: bool = True) -> str:
    """``str(text)`` with every control character shown as its escape, never sent raw.

    Escaped: the C0 controls (ESC, CR, BS, BEL...), DEL, the C1 controls (U+0080 to
    U+009F, among them the one-character CSI U+009B) and :data:`UNSAFE_FORMAT_CHARACTERS`
    (bidirectional overrides and isolates, line separators). Everything else, including
    non-ASCII letters and emoji, is kept.

    Args:
        text: what to print (any object; ``str()`` is applied).
        newlines: keep ``\\n`` as a line break (``False``: show it as ``\\n``, for a value
            that must stay on one line).
        tabs: keep ``\\t`` (``False``: show it as ``\\t``).

    Example::

        >>> printable("apt-get install nginx\\x1b[1A\\x1b[2K")
        'apt-get install nginx\\\\x1b[1A\\\\x1b[2K'
    """
    value = str(text)
    keep = ("\n" if newlines else "") + ("\t" if tabs else "")
    if value.isprintable():
        return value  # the common case; False for every character escaped here (Cc, Cf, Zl, Zp)
    return "".join(_escape(c) if _unsafe(c, keep) else c for c in value)
