"""Files written into a temporary directory this function has just made (by path or
after changing into it): nobody else knows they exist."""

import json
import os
import tempfile


def build(name, metadata, dockerfile):
    tmp = tempfile.TemporaryDirectory()
    build_dir = os.path.join(tmp.name, name)
    os.mkdir(build_dir)
    with open(os.path.join(build_dir, "metadata.json"), "w") as fp:
        fp.write(json.dumps(metadata))
    os.chdir(build_dir)
    with open("Dockerfile", "w") as fp:
        fp.write(dockerfile)
    return tmp


def bundle(files):
    with tempfile.TemporaryDirectory() as where:
        for index, text in enumerate(files):
            with open(os.path.join(where, f"{index}.txt"), "w") as fp:
                fp.write(text)
