"""A file cache entry rewritten in place, read back through the cache's own decoder; a
torn entry fails to decode, is forgotten, and is fetched again."""

import json
from pathlib import Path


class FileCache:
    def __init__(self, root: Path):
        self.root = root

    def put(self, key, value):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as f:
            f.write(json.dumps(value))

    def get(self, key):
        path = self._path(key)
        if not path.exists():
            return None
        with path.open() as f:
            content = f.read()
        try:
            return self._decode(content)
        except ValueError:
            path.unlink()
            return None

    def _decode(self, content):
        return json.loads(content)

    def _path(self, key):
        return self.root / key
