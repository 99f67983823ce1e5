"""A test module's helper that memoises the default configuration on its class for the
test session (beets' test helper): a test runner runs one test at a time, and a
duplicate is an equal deep copy. Reported as info (test code)."""

import copy
import threading


def load_defaults():
    return {"plugins": [], "verbose": 2}


class TestHelper:
    _defaults = None
    lock = threading.Lock()

    @classmethod
    def default_config(cls):
        if cls._defaults is None:
            cls._defaults = load_defaults()
        return copy.deepcopy(cls._defaults)
