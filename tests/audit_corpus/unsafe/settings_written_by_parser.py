# expect: file-in-place-write
"""Settings kept in an INI file that every command loads and saves: saving opens the file
for writing (truncating it) and lets the parser write into the handle."""

import configparser
import os

SETTINGS = os.path.expanduser("~/.config/tool/settings.ini")


class Settings(configparser.ConfigParser):
    def load(self):
        self.read(SETTINGS)

    def save(self):
        with open(SETTINGS, "w") as handle:
            self.write(handle)
