"""A hook written into a directory the function has just made: ``os.makedirs`` without
``exist_ok`` fails if the directory exists, so no one else knows the file."""

import os
import shutil


class BuildPrefix:
    def __init__(self, overlay: str, source: str):
        self.site_dir = os.path.join(overlay, "site")
        if os.path.isdir(self.site_dir):
            shutil.rmtree(self.site_dir)
        os.makedirs(self.site_dir)
        with open(os.path.join(self.site_dir, "sitecustomize.py"), "w") as fp:
            fp.write(f"import sys\nsys.path.insert(0, {source!r})\n")
