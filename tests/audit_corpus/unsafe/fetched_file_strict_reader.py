# expect: file-in-place-write
"""The same fetched file, read back at start without a catch: a torn copy (a kill during
the write, or another process writing) stops every later start."""

import json
import os

import requests


class Updater:
    def __init__(self, state_dir):
        self.updater_file = os.path.join(state_dir, "updater")

    def latest(self):
        if os.path.exists(self.updater_file):
            with open(self.updater_file, encoding="utf-8") as f:
                return json.load(f)["version"]
        return self.fetch()

    def fetch(self):
        info = requests.get("https://pypi.org/pypi/cortex/json", timeout=5).json()
        with open(self.updater_file, "w", encoding="utf-8") as f:
            json.dump({"version": info["info"]["version"]}, f)
        return info["info"]["version"]
