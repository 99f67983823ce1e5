"""A network client whose loop thread owns the incoming-packet state: the class has locks
for what the caller's thread and the loop share (the outgoing queue, the last-seen time),
and the parser's counters are never updated under them, because only the loop thread
parses. Shape of a false positive found on a real MQTT client."""

import threading
import time


class Client:
    def __init__(self, sock):
        self._sock = sock
        self._out_lock = threading.Lock()
        self._time_lock = threading.Lock()
        self._outgoing = []
        self._last_in = 0.0
        self._incoming = {"length": 0, "multiplier": 1, "body": b""}
        self._thread = None

    def publish(self, payload):
        with self._out_lock:
            self._outgoing.append(payload)

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            self._read_packet()

    def _read_packet(self):
        byte = self._sock.recv(1)
        self._incoming["length"] += (byte[0] & 127) * self._incoming["multiplier"]
        self._incoming["multiplier"] = self._incoming["multiplier"] * 128
        self._incoming["body"] += self._sock.recv(self._incoming["length"])
        with self._time_lock:
            self._last_in = time.monotonic()
