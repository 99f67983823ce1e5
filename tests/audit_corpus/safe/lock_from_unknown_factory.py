"""A lock made by a factory the audit does not know (a handler's ``rlock_object()``):
every change of the state holds it, so nothing races."""

import threading


class Partitioner:
    def __init__(self, client):
        self._state_change = client.handler.rlock_object()
        self.state_id = 0
        threading.Thread(target=self._watch).start()

    def _watch(self):
        self._set_state("allocating")

    def _set_state(self, state):
        with self._state_change:
            self.state = state
            self.state_id += 1

    def release(self):
        self._set_state("release")
