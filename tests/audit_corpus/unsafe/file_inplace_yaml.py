# expect: file-in-place-write
# expect: file-in-place-write
"""The application's configuration and notification history, written in place."""

import json

import yaml


class Settings:
    def __init__(self, config_path, history_path):
        self.config_path = config_path
        self.history_path = history_path

    def save_configuration(self, config):
        with open(self.config_path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle)

    def save_history(self, entries):
        self.history_path.write_text(json.dumps(entries))
