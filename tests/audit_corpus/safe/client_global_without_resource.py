"""A lazily made client that holds no lock or resource of its own and that callers only
use: two first callers may each make one, one is kept, and both work the same."""

_client = None


class SearchClient:
    def __init__(self, language="en"):
        self.language = language

    def search(self, query):
        return [query, self.language]


def search(query):
    global _client
    if _client is None:
        _client = SearchClient()
    return _client.search(query)
