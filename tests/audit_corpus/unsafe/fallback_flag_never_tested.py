# expect: fallback-recursion
"""A fallback that passes a flag nobody tests: the second provider's failure calls the
second provider again, until RecursionError."""


class Router:
    def complete(self, prompt, provider="claude", _switched=False):
        try:
            return self._call(provider, prompt)
        except ConnectionError:
            return self.complete(prompt, provider="kimi", _switched=True)

    def _call(self, provider, prompt):
        raise ConnectionError(provider)
