# expect: shared-rmw
"""The read and the write of a counter split over a local and a redraw."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor


class StepCounter:
    def __init__(self, steps):
        self.steps = steps
        self.completed = 0
        self._redraw_lock = threading.Lock()

    def complete_step(self):
        done = self.completed
        time.sleep(0)
        self.completed = done + 1


def run_steps(counter, n):
    with ThreadPoolExecutor(4) as pool:
        for _ in range(n):
            pool.submit(counter.complete_step)
