"""Export and import of a configuration to a path the caller names: a transfer the user
runs, not a store the class keeps (its own state lives elsewhere)."""

import json


class ConfigManager:
    def __init__(self, store):
        self.store = store

    def export_configuration(self, output_path):
        with open(output_path, "w") as f:
            json.dump(self.store.snapshot(), f)

    def import_configuration(self, config_path):
        with open(config_path) as f:
            self.store.apply(json.load(f))
