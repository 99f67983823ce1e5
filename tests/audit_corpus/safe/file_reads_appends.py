"""Reading, appending to a log, and writing into a fresh temporary directory."""

import json
import tempfile
from pathlib import Path


def load(path):
    with open(path) as f:
        return json.load(f)


def log(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def scratch(data):
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp_file = Path(tmpdir) / "x.json"
        with open(tmp_file, "w") as f:
            json.dump(data, f)
