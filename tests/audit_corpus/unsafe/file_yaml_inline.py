# expect: file-in-place-write
"""yaml.dump straight into open(path, "w"), for the application's own settings file."""

import yaml

SETTINGS = "/etc/cortex/settings.yaml"


def store(data):
    yaml.dump(data, open(SETTINGS, "w"))
