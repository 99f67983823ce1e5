# expect: file-in-place-write
"""An index file shared by several sessions, updated through one handle: read it, go back
to the start, empty it, then write the new index. A reader between the truncate and the
write finds it empty."""

import re
from pathlib import Path

INDEX = Path.home() / ".local" / "share" / "notes" / "INDEX.md"


def upsert_line(name, line):
    with open(INDEX, "a+", encoding="utf-8") as handle:
        handle.seek(0)
        content = handle.read()
        content = re.sub(rf"^- {re.escape(name)}.*$", line, content, flags=re.MULTILINE)
        handle.seek(0)
        handle.truncate()
        handle.write(content)
