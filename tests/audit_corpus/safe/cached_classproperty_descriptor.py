"""A caching descriptor: ``__get__`` fills a class-level dict on first access, without a
lock. Two threads may both run the getter; the second value is kept and equal. The
standard library's functools.cached_property accepts the same since Python 3.12."""

import threading


class cached_classproperty:
    cache = {}

    def __init__(self, getter):
        self.getter = getter

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner):
        key = owner, self.name
        if key not in self.cache:
            self.cache[key] = self.getter(owner)
        return self.cache[key]


class Model:
    lock = threading.Lock()

    @cached_classproperty
    def fields(cls):
        return tuple(sorted(vars(cls)))
