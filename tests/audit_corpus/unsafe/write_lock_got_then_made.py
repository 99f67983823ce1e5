# expect: singleton-class-cache
"""A lock per output file, got from a registry and made when missing, without a lock:
two threads making their first logger for one file each make a lock, and the loggers
holding the one replaced no longer exclude the others."""

import threading
import weakref

WRITE_LOCKS = weakref.WeakKeyDictionary()


def lock_for(stream):
    lock = WRITE_LOCKS.get(stream)
    if lock is None:
        lock = threading.Lock()
        WRITE_LOCKS[stream] = lock
    return lock
