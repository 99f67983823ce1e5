# expect: shared-rmw
# expect: shared-rmw
"""Request statistics kept per thread id in a module dictionary: the server's request
threads all run these hooks, so the totals lose updates."""

import threading

stats = {"Current": 0, "Total": 0, "Records": {}}


def _ident():
    return threading.get_ident()


def record_start(path):
    stats["Current"] += 1
    stats["Records"][_ident()] = {"path": path}


def record_stop():
    stats["Records"].pop(_ident(), None)
    stats["Current"] -= 1
