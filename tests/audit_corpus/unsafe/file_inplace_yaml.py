# expect: file-in-place-write
# expect: file-in-place-write
"""A configuration export and a notification history written in place."""

import json

import yaml


def export_configuration(path, config):
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)


def save_history(path, entries):
    path.write_text(json.dumps(entries))
