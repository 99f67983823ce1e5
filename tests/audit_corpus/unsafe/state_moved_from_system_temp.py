# expect: file-in-place-write
"""A state file saved through a temporary file made in the system temporary directory and
moved into place: on a tmpfs /tmp the move is a copy that rewrites the state in place."""

import json
import shutil
import tempfile


def save_state(path, state):
    with tempfile.NamedTemporaryFile("w", delete=False) as handle:
        json.dump(state, handle)
    shutil.move(handle.name, path)
