"""The session serialised into a local and written to a temporary file beside it, then
put in place with Path.replace."""

import json
from pathlib import Path

SESSIONS = Path.home() / ".config" / "tool" / "sessions"


class Session(dict):
    def __init__(self, name):
        super().__init__()
        self.path = SESSIONS / f"{name}.json"

    def save(self):
        text = json.dumps(self, indent=4)
        partial = self.path.with_suffix(".partial")
        partial.write_text(text + "\n", encoding="utf-8")
        partial.replace(self.path)
