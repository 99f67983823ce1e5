"""A worker's own back-off state: each worker thread owns its object, nothing shares it
(the module uses threads, the class has no lock and no method is handed to another
thread). Reported only as info."""

import threading


class Worker:
    def __init__(self, interval):
        self.delay = interval
        self.backoff = 2.0

    def sleep_after_empty(self):
        self.delay *= self.backoff


def start(worker_factory):
    threading.Thread(target=run, args=(worker_factory(),)).start()


def run(worker):
    worker.sleep_after_empty()
