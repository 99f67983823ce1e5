"""A default settings file written only when missing, from constants (a header and a
commented line per default, as thefuck does): every process that finds it missing writes
the same bytes, and a reader of a half-written file reads only comments."""

import os
from pathlib import Path

SETTINGS_HEADER = "# Settings; uncomment a line to change it.\n"
DEFAULT_SETTINGS = {"require_confirmation": True, "wait_command": 3}


def init_settings_file() -> None:
    user_dir = Path(os.environ.get("XDG_CONFIG_HOME", "~/.config"), "app").expanduser()
    settings_path = user_dir / "settings.py"
    if not settings_path.is_file():
        with settings_path.open(mode="w") as settings_file:
            settings_file.write(SETTINGS_HEADER)
            for setting in DEFAULT_SETTINGS.items():
                settings_file.write("# {} = {}\n".format(*setting))
