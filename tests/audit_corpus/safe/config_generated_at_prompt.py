"""``cortex config --init``: a command a person runs, which asks before it overwrites."""

import json
from pathlib import Path

DEFAULT_SETTINGS = {"model": "local", "dry_run": True}


def init_settings(settings: dict):
    path = Path.home() / ".config" / "cortex" / "settings.json"
    if path.exists() and input(f"{path} exists. Overwrite? [y/N] ").lower() != "y":
        return
    with open(path, "w", encoding="utf-8") as f:
        json.dump({**DEFAULT_SETTINGS, **settings}, f)
