"""A version check writes what it fetched into a file in place; the one reader takes a
file it cannot parse for a miss, and the next check fetches it again."""

import json
import os

import requests


class Updater:
    def __init__(self, state_dir):
        self.updater_file = os.path.join(state_dir, "updater")

    def latest(self):
        try:
            with open(self.updater_file, encoding="utf-8") as f:
                return json.load(f)["version"]
        except Exception:
            return self.fetch()

    def fetch(self):
        info = requests.get("https://pypi.org/pypi/cortex/json", timeout=5).json()
        with open(self.updater_file, "w", encoding="utf-8") as f:
            json.dump({"version": info["info"]["version"]}, f)
        return info["info"]["version"]
