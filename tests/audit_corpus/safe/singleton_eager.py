"""Created at import time, before any thread exists."""


class Detector:
    pass


_detector = Detector()
_registry = {}
for _name in ("cpu", "gpu"):
    _registry[_name] = Detector()


def get_detector():
    return _detector


def local_cache(keys):
    cache = {}
    for key in keys:
        if key not in cache:
            cache[key] = object()
    return cache
