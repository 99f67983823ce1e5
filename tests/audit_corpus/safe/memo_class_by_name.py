"""A memo of transport classes resolved from their dotted paths: two threads filling it at
once both import the same class, so whichever assignment wins, nothing is lost."""

import importlib

ALIASES = {"memory": "transports.memory:Transport"}
_transport_cache = {}


def resolve_transport(transport):
    if isinstance(transport, str):
        module, _, name = ALIASES.get(transport, transport).partition(":")
        return getattr(importlib.import_module(module), name)
    return transport


def get_transport_cls(transport):
    if transport not in _transport_cache:
        _transport_cache[transport] = resolve_transport(transport)
    return _transport_cache[transport]
