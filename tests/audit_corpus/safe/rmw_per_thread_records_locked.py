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


class Receiver:
    """A reader that logs which thread runs it and keeps its own buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def drain(self):
        print("receiver on", threading.current_thread().name)
        while True:
            self.buffer += self.sock.recv(4096)
