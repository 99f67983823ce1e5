# expect: file-in-place-write
"""The hardware cache rewritten in place."""

import json
from pathlib import Path


def save_cache(info, path=Path.home() / ".cortex" / "hardware_cache.json"):
    with open(path, "w") as f:
        json.dump(info, f)
