# expect: singleton-class-cache
"""The same class with a reset that sets the instance back to None: after a reset, two
threads making settings each make one."""


class Settings:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    @classmethod
    def reset(cls):
        cls._instance = None


settings = Settings()
