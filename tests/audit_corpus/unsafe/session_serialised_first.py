# expect: file-in-place-write
"""A session file rewritten after every request: the JSON is serialised into a local
first, then written over the file in place."""

import json
from pathlib import Path

SESSIONS = Path.home() / ".config" / "tool" / "sessions"


class Session(dict):
    def __init__(self, name):
        super().__init__()
        self.path = SESSIONS / f"{name}.json"

    def save(self):
        text = json.dumps(self, indent=4)
        self.path.write_text(text + "\n", encoding="utf-8")
