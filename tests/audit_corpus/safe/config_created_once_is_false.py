"""The default settings file written on first run, the test spelled ``is False`` and the
defaults a constant of another module."""

import json
from pathlib import Path

from cortex.settings import DEFAULT_SETTINGS


def settings_file() -> Path:
    return Path.home() / ".config" / "cortex" / "settings.json"


def create_default_settings():
    if settings_file().is_file() is False:
        path = settings_file()
        with open(path, "w", encoding="utf-8") as f:
            json.dump(DEFAULT_SETTINGS, f, indent=4)
