"""A keys file created with fixed default content only when it does not exist yet."""

import json
from pathlib import Path


CONFIG_DIR = Path.home() / ".config" / "cortex"


def keys_path() -> Path:
    default = {"// Note": "This file stores secret credentials."}
    path = CONFIG_DIR / "keys.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(json.dumps(default))
        path.chmod(0o600)
    return path
