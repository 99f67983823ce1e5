# expect: singleton-global
"""A TLS context published in the global before its certificates are loaded: a
connection made from another thread meanwhile takes the context without them."""

import ssl

_client_context = None


def client_context(certificate, key):
    global _client_context
    if _client_context is None:
        _client_context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        _client_context.load_cert_chain(certificate, key)
    return _client_context
