"""A global that saves an existing function before patching it: nothing is created
twice. Reported only as info."""

import warnings

_original_showwarning = None


def capture(enable):
    global _original_showwarning
    if enable:
        if _original_showwarning is None:
            _original_showwarning = warnings.showwarning
            warnings.showwarning = print
    elif _original_showwarning is not None:
        warnings.showwarning = _original_showwarning
        _original_showwarning = None
