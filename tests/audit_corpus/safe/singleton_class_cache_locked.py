"""A per-path registry filled under a class-level lock."""

import threading


class Pool:
    _instances = {}
    _instances_lock = threading.Lock()

    def __init__(self, path):
        self.path = path

    @classmethod
    def for_path(cls, path):
        with cls._instances_lock:
            if path not in cls._instances:
                cls._instances[path] = cls(path)
            return cls._instances[path]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Pool._instances[cls.__name__] = cls
