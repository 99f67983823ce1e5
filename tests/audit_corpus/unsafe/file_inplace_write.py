# expect: file-in-place-write
"""Plain text written in place through a handle kept in a variable."""

from pathlib import Path

TOKEN_FILE = Path.home() / ".cortex" / "token"


def save_token(token):
    f = open(TOKEN_FILE, "w")
    f.write(token)
    f.close()
