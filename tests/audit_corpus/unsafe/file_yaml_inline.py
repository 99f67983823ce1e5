# expect: file-in-place-write
"""yaml.dump straight into open(path, "w")."""

import yaml


def export(path, data):
    yaml.dump(data, open(path, "w"))
