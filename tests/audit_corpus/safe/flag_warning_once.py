"""A warn-once flag: a second caller going on before the warning is printed loses
nothing (at worst the warning is printed twice)."""

import warnings

_warned = False


def read_with_timeout(read, timeout):
    global _warned
    if timeout is not None and not _warned:
        _warned = True
        warnings.warn("timeouts are not supported here", stacklevel=2)
    return read()
