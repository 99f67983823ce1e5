# expect: singleton-global
"""Check outside, lock taken only around the log line."""

import logging
import threading

_log_lock = threading.Lock()
_engine = None


class Engine:
    def __init__(self):
        self._jobs_lock = threading.Lock()
        self.jobs = []


def engine():
    global _engine
    if _engine is None:
        _engine = Engine()
        with _log_lock:
            logging.info("engine created")
    return _engine
