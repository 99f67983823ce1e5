"""YAML written to a NamedTemporaryFile, then moved over the target."""

import os
import tempfile

import yaml


def save(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False) as handle:
        yaml.safe_dump(data, handle)
        name = handle.name
    os.replace(name, path)
