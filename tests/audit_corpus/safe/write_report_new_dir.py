"""An atomic write with pathlib: write the temporary, then Path.replace."""

import json
from pathlib import Path


def save(path: Path, data):
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data))
    partial.replace(path)
