# expect: file-in-place-write
"""An install id written only when missing, but fresh in every process (a uuid): two
first runs write different ids in place, and the one a process keeps may not be the one
left on disk."""

import uuid
from pathlib import Path


CONFIG_DIR = Path("~/.config/recorder").expanduser()


def install_id() -> str:
    path = CONFIG_DIR / "install-id"
    if not path.exists():
        new_id = str(uuid.uuid4())
        with open(path, "w") as handle:
            handle.write(new_id)
        return new_id
    return path.read_text().strip()
