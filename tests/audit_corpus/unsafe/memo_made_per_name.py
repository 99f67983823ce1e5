# expect: singleton-class-cache
"""A memo of queues made on first use: two threads declaring the same name at once each
make a queue, and what one puts into the queue that loses the assignment is lost."""

import queue

_queues = {}


def make_queue(name):
    return queue.Queue()


def queue_for(name):
    if name not in _queues:
        _queues[name] = make_queue(name)
    return _queues[name]
