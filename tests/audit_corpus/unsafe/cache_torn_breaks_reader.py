# expect: file-in-place-write
"""A response cache rewritten in place, read back at start by one function that copes
with a torn copy and by another that does not: a torn file breaks every later start."""

import json
import os


class ResponseCache:
    def __init__(self, cache_path):
        self.cache_path = cache_path

    def warm(self):
        try:
            with open(self.cache_path) as f:
                return json.load(f)
        except ValueError:
            return {}

    def entries(self):
        if not os.path.exists(self.cache_path):
            return {}
        with open(self.cache_path) as f:
            return json.load(f)

    def save(self, entries):
        with open(self.cache_path, "w") as f:
            json.dump(entries, f)
