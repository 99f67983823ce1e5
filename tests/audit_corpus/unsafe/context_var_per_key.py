# expect: singleton-class-cache
"""A context variable per bound key, looked up and made in a KeyError handler without a
lock: two threads binding a new key at once each make one, and the token of the one
not kept can never reset it."""

import contextvars

_CONTEXT_VARS = {}


def bind(**values):
    tokens = {}
    for key, value in values.items():
        try:
            var = _CONTEXT_VARS[key]
        except KeyError:
            var = contextvars.ContextVar(key, default=None)
            _CONTEXT_VARS[key] = var
        tokens[key] = var.set(value)
    return tokens
