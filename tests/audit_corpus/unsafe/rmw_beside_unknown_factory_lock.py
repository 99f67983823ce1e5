# expect: shared-rmw
"""The class has a lock from a factory the audit does not know (``make_lock()``) and a
watcher thread, but the watcher steps the counter outside it while ``release()`` steps
it inside: the two threads lose an update."""

import threading


class Partitioner:
    def __init__(self, client):
        self._state_change = client.handler.make_lock()
        self.state_id = 0
        threading.Thread(target=self._watch).start()

    def _watch(self):
        self.state_id += 1

    def release(self):
        with self._state_change:
            self.state_id += 1
