# expect: fallback-recursion
"""A failure counter that is only logged, never compared with a limit: both providers
down means the recursion never ends."""


class Router:
    def complete(self, prompt, provider="a", failures=0):
        if self._status(provider) != "ok":
            other = "b" if provider == "a" else "a"
            print("failing over", failures)
            return self.complete(prompt, provider=other, failures=failures + 1)
        return self._call(provider, prompt)

    def _status(self, provider):
        raise NotImplementedError

    def _call(self, provider, prompt):
        raise NotImplementedError
