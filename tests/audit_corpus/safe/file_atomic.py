"""Atomic replacement: temporary file, then os.replace."""

import json
import os
import tempfile

from cortex.utils.atomic_file import atomic_write_text


def save_cache(path, info):
    directory = os.path.dirname(path) or "."
    fd, tmp_path = tempfile.mkstemp(dir=directory)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    os.replace(tmp_path, path)


def save_prefs(path, prefs):
    atomic_write_text(path, json.dumps(prefs))


def save_via_tmp(path, text):
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    tmp.replace(path)
