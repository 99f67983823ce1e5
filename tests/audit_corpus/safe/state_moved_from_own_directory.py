"""The same save with the temporary file made beside the state file: the move is a rename
on one filesystem, so readers see the old state or the new one."""

import json
import os
import shutil
import tempfile


def save_state(path, state):
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False) as handle:
        json.dump(state, handle)
    shutil.move(handle.name, path)
