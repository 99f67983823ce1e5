# expect: singleton-function-attr
"""A function attribute as the cache of a single instance."""


class DegradationManager:
    pass


def get_degradation_manager():
    if not hasattr(get_degradation_manager, "instance"):
        get_degradation_manager.instance = DegradationManager()
    return get_degradation_manager.instance
