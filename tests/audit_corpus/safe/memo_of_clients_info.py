"""A module-level dictionary of clients, checked then filled without a lock: reported as
info. Two threads may each make a client for one provider and one is kept; a client is a
value here (no lock, thread, queue, connection or file of its own), and on the
evaluation's real code such a duplicate never mattered (kombu's boto clients)."""

_clients = {}


class Client:
    def __init__(self, provider):
        self.provider = provider


def get_client(provider):
    if provider not in _clients:
        _clients[provider] = Client(provider)
    return _clients[provider]
