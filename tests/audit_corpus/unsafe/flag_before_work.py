"""A load-once flag set before the loading: a second thread's first call finds it set and
looks up a plugin that is not registered yet."""

# expect: singleton-global

import importlib


class Registry:
    def __init__(self):
        self.plugins = {}

    def register(self, name, module):
        self.plugins[name] = module


registry = Registry()
_loaded = False


def load_plugins(names):
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in names:
        registry.register(name, importlib.import_module(name))


def get_plugin(name, names):
    load_plugins(names)
    return registry.plugins[name]
