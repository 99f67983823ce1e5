"""An asyncio task's done callback runs on the event loop's thread, like the code that
counts the task in: one thread, no race."""

import asyncio
import threading


class Tracker:
    def __init__(self):
        self.running = 0
        self.stopped = threading.Event()

    def start(self, coro):
        self.running += 1
        task = asyncio.ensure_future(coro)
        task.add_done_callback(self.done)

    def done(self, task):
        self.running -= 1
