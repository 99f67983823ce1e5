"""A module-level client made at import, but close() sets it back to None, so the lazy
branch runs again: two threads that find it None each make one and one is lost unclosed.
"""
# expect: singleton-global

import socket


class Client:
    def __init__(self, address):
        self.sock = socket.create_connection(address)


client = Client(("localhost", 9000))


def get_client():
    global client
    if client is None:
        client = Client(("localhost", 9000))
    return client


def close():
    global client
    client.sock.close()
    client = None
