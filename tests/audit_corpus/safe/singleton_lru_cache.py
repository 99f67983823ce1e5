"""functools.cache at import-free module level; a global assigned without a check."""

import functools

_settings = None


@functools.cache
def get_client():
    return object()


def configure(value):
    global _settings
    _settings = value
