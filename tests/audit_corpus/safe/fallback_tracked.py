"""Fallbacks that remember what they tried, or loop instead of recursing."""


class LLMRouter:
    PROVIDERS = ("claude", "kimi", "ollama")

    def complete(self, messages, provider="claude", tried=None):
        tried = set(tried or ()) | {provider}
        try:
            return self._call(provider, messages)
        except ConnectionError:
            remaining = [p for p in self.PROVIDERS if p not in tried]
            if not remaining:
                raise
            return self.complete(messages, provider=remaining[0], tried=tried)

    def complete_loop(self, messages):
        for provider in self.PROVIDERS:
            try:
                return self._call(provider, messages)
            except ConnectionError:
                continue
        raise ConnectionError("all providers failed")

    def _call(self, provider, messages):
        raise ConnectionError(provider)


def walk(tree):
    if not tree:
        return []
    return [tree[0], *walk(tree[1:])]


def fetch(url, retries=3):
    try:
        return url
    except OSError:
        if retries:
            return fetch(url, retries=retries - 1)
        raise
