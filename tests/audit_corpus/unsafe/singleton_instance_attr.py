# expect: singleton-instance-attr
"""A holder that creates its object on first get(), in a threaded module."""

import threading


class Holder:
    def __init__(self, factory):
        self._factory = factory
        self._instance = None

    def get(self):
        if self._instance is None:
            self._instance = self._factory()
        return self._instance


def warm(holder):
    threading.Thread(target=holder.get).start()
