"""A transport whose receive loop is started by a pluggable one-thread factory: the
receive buffer belongs to that one thread."""

import threading


def default_create_thread(callback):
    thread = threading.Thread(target=callback)
    thread.daemon = True
    thread.start()
    return thread


class Transport:
    def __init__(self, sock):
        self.sock = sock
        self.create_thread_fc = default_create_thread
        self._recvbuf = b""
        self._lock = threading.Condition()
        self.frames = []

    def start(self):
        self.receiver = self.create_thread_fc(self._receiver_loop)

    def _receiver_loop(self):
        while True:
            self._read()

    def _read(self):
        self._recvbuf += self.sock.recv(4096)
        pos = self._recvbuf.find(b"\x00")
        if pos >= 0:
            with self._lock:
                self.frames.append(self._recvbuf[:pos])
            self._recvbuf = self._recvbuf[pos + 1 :]
