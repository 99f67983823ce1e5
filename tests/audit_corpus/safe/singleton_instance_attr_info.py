"""A holder that creates its object on first get(), in a threaded module: reported as
``singleton-instance-attr`` at ``info`` only. Two threads may each build one; on the
evaluation's real code such a duplicate never mattered (the per-rule table), so the
pattern alone is no warning."""

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
