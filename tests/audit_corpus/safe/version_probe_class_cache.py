"""A class-level memo of a tool's version, probed on first use (beets' ImageMagick
check): every caller computes the same tuple, or stores the module's sentinel, so a
second probe only repeats the work."""

import re
import subprocess
import threading

_NOT_AVAILABLE = object()


class ImageTool:
    _version = None

    @classmethod
    def version(cls):
        if cls._version is None:
            try:
                out = subprocess.run(["magick", "--version"], capture_output=True).stdout
            except OSError:
                cls._version = _NOT_AVAILABLE
            else:
                match = re.search(rb"(\d+)\.(\d+)\.(\d+)", out)
                if match:
                    cls._version = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
        return cls._version


def warm():
    threading.Thread(target=ImageTool.version).start()
