"""The INI settings saved by the parser into a temporary file beside them, then put in
place with os.replace: a reader sees the old settings or the new ones."""

import configparser
import os

SETTINGS = os.path.expanduser("~/.config/tool/settings.ini")


class Settings(configparser.ConfigParser):
    def load(self):
        self.read(SETTINGS)

    def save(self):
        partial = SETTINGS + ".partial"
        with open(partial, "w") as handle:
            self.write(handle)
        os.replace(partial, SETTINGS)
