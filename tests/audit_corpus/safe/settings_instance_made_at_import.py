"""A class that keeps its one instance in a class attribute, made by the module at
import: the check in ``__new__`` runs first under the import lock."""


class Settings:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance


settings = Settings()
