# expect: file-in-place-write
"""A state file in a directory made with ``exist_ok=True``: the directory is everyone's,
and so is the file rewritten in place in it."""

import json
import os

STATE_DIR = os.path.expanduser("~/.local/state/cortex")


def save_state(state):
    os.makedirs(STATE_DIR, exist_ok=True)
    with open(os.path.join(STATE_DIR, "state.json"), "w") as f:
        json.dump(state, f)
