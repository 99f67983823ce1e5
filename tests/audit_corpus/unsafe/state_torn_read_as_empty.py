# expect: file-in-place-write
"""An install history rewritten in place whose reader takes a torn file for an empty
history: that is not a miss but a loss, as the next save writes the empty copy back."""

import json


class InstallHistory:
    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except ValueError:
            return []

    def append(self, record):
        records = self.load()
        records.append(record)
        with open(self.path, "w") as f:
            json.dump(records, f)
