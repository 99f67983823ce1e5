# expect: singleton-class-cache
"""A per-path registry filled in a classmethod."""


class Pool:
    _instances = {}

    def __init__(self, path):
        self.path = path

    @classmethod
    def for_path(cls, path):
        if path not in cls._instances:
            cls._instances[path] = cls(path)
        return cls._instances[path]
