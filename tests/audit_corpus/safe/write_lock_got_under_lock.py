"""The same registry filled under one lock: every thread gets the one lock per file."""

import threading
import weakref

WRITE_LOCKS = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def lock_for(stream):
    with _REGISTRY_LOCK:
        lock = WRITE_LOCKS.get(stream)
        if lock is None:
            lock = threading.Lock()
            WRITE_LOCKS[stream] = lock
    return lock
