"""A memo of compiled patterns filled in a KeyError handler: a duplicate compile gives an
equal pattern, and one is kept."""

import re

_PATTERNS = {}


def pattern_for(glob):
    try:
        return _PATTERNS[glob]
    except KeyError:
        compiled = re.compile(glob.replace("*", ".*"))
        _PATTERNS[glob] = compiled
        return compiled
