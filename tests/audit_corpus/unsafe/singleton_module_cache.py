# expect: singleton-class-cache
"""A module-level dictionary of clients, checked then filled."""

_clients = {}


class Client:
    def __init__(self, provider):
        self.provider = provider


def get_client(provider):
    if provider not in _clients:
        _clients[provider] = Client(provider)
    return _clients[provider]
