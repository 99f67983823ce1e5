"""A write retried once after making the missing folder: the retry passes a flag the
function tests before it recurses, so the second call cannot recurse again."""

import os


class Store:
    def __init__(self, folder):
        self.folder = folder

    def write(self, key, data, _recovery=False):
        path = os.path.join(self.folder, key)
        try:
            with open(path + ".partial", "wb") as f:
                f.write(data)
            os.replace(path + ".partial", path)
        except FileNotFoundError:
            if not _recovery:
                os.makedirs(self.folder, exist_ok=True)
                return self.write(key, data, _recovery=True)
            return False
        return True
