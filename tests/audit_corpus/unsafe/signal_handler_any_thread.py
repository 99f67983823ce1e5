"""The same lazy global, but the main-thread test is an alternative, not a requirement:
two client threads can both build the registry."""

# expect: singleton-global

import threading

_registry = None


class Registry:
    def __init__(self):
        self.clients = []


def register(client, force=False):
    global _registry
    if _registry is None or force or threading.current_thread() is threading.main_thread():
        _registry = Registry()
    _registry.clients.append(client)
