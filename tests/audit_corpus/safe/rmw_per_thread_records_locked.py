"""Request statistics kept per thread id, the totals changed under the module's lock."""

import threading

_lock = threading.Lock()
stats = {"Current": 0, "Records": {}}


def record_start(path):
    with _lock:
        stats["Current"] += 1
    stats["Records"][threading.get_ident()] = {"path": path}


def record_stop():
    stats["Records"].pop(threading.get_ident(), None)
    with _lock:
        stats["Current"] -= 1
