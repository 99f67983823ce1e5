"""User preferences: one lock per file (across threads and processes), atomic writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cortex.utils.locked_file import read_json, update_json

PREFERENCES_FILE = Path.home() / ".cortex-sample" / "preferences.json"


class Preferences:
    """Reads and writes the preferences file."""

    def load(self) -> dict[str, Any]:
        """The preferences, or ``{}`` (files are replaced whole: no lock needed to read)."""
        data: dict[str, Any] = read_json(PREFERENCES_FILE, default={})
        return data

    def set(self, key: str, value: Any) -> None:
        """Change one preference.

        Fixes file-per-instance-lock and file-in-place-write: ``update_json`` holds the
        path's lock (threads and processes) around the read-modify-write and replaces the
        file atomically.
        """

        def change(data: dict[str, Any]) -> dict[str, Any]:
            data[key] = value
            return data

        update_json(PREFERENCES_FILE, change)
