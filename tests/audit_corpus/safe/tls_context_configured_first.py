"""The same context configured on a local and published whole, under a lock: no
thread sees it half made, and only one is made."""

import ssl
import threading

_client_context = None
_context_lock = threading.Lock()


def client_context(certificate, key):
    global _client_context
    with _context_lock:
        if _client_context is None:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            context.load_cert_chain(certificate, key)
            _client_context = context
    return _client_context
