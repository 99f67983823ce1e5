"""A test module's helper corrupts one file of the suite's scratch cache on purpose."""

import json
import os

SCRATCH = os.path.join("build", "scratch-cache")


def corrupt_item():
    with open(os.path.join(SCRATCH, "output.pkl"), "w") as f:
        f.write("garbage")


def test_corrupt():
    corrupt_item()
    with open(os.path.join(SCRATCH, "index.json"), "w") as f:
        json.dump({}, f)
