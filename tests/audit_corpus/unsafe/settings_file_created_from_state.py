"""The same guard, but what is written is the caller's current settings: a second writer
with other settings and a reader racing the first write both see a torn file."""

# expect: file-in-place-write

import json
from pathlib import Path


class Preferences:
    def __init__(self, directory: Path):
        self.path = directory / "preferences.json"
        self.values = {}

    def load(self):
        return json.loads(self.path.read_text())

    def save_first_time(self):
        if not self.path.exists():
            self.path.write_text(json.dumps(self.values))
