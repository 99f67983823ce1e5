"""User preferences: one JSON file shared by every instance and every process."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

PREFERENCES_FILE = Path.home() / ".cortex-sample" / "preferences.json"


class Preferences:
    """Reads and writes the preferences file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # per instance: other instances do not see it

    def load(self) -> dict[str, Any]:
        """The preferences, or ``{}``."""
        try:
            with open(PREFERENCES_FILE, encoding="utf-8") as handle:
                data: dict[str, Any] = json.load(handle)
        except (OSError, ValueError):
            return {}
        return data

    def set(self, key: str, value: Any) -> None:
        """Change one preference: load, change, write back in place."""
        with self._lock:
            data = self.load()
            data[key] = value
            with open(PREFERENCES_FILE, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
