# expect: fallback-recursion
"""Provider fallback that bounces between two failing providers."""


class LLMRouter:
    def complete(self, messages, provider="claude"):
        try:
            return self._call(provider, messages)
        except ConnectionError:
            other = "kimi" if provider == "claude" else "claude"
            return self.complete(messages, provider=other)

    def _call(self, provider, messages):
        raise ConnectionError(provider)
