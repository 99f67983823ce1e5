# expect: singleton-class-cache
"""A classmethod singleton stored on the class."""


class NotificationManager:
    _instance = None

    @classmethod
    def instance(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance
