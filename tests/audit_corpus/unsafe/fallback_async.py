# expect: fallback-recursion
"""An async fallback that retries itself with the other provider forever."""


class Router:
    async def acomplete(self, prompt, provider="claude"):
        try:
            return await self._send(provider, prompt)
        except TimeoutError:
            return await self.acomplete(prompt, "kimi" if provider == "claude" else "claude")

    async def _send(self, provider, prompt):
        raise TimeoutError(provider)
