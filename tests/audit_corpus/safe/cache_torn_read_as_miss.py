"""A version cache rewritten in place whose only reader takes a file it cannot parse for a
miss: a torn copy costs one more request to the index, nothing else."""

import json
import os


class UpdateCheck:
    def __init__(self, cache_dir):
        self.cache_file = os.path.join(cache_dir, "latest-version.json")

    def load_cache(self):
        try:
            with open(self.cache_file, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def save_cache(self, latest):
        with open(self.cache_file, "w", encoding="utf-8") as f:
            json.dump({"latest": latest}, f)
