"""HTTP providers, standard library only: OpenAI-compatible servers and Anthropic.

Each request opens its own connection (``urllib``): no client object is shared between
threads. A malformed answer (no text, a ``usage`` block that is not counts) is a
:class:`~cortex.llm_router.ProviderError`, so the router falls back and counts it.
:func:`providers_from_environment` is the one reader of the provider variables
(:data:`PROVIDER_ENVIRONMENT`).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cortex.llm.base import LLMProvider, LLMResponse, Provider, ProviderError
from cortex.utils.thread_utils import LazySingleton

__all__ = [
    "PROVIDER_ENVIRONMENT",
    "AnthropicProvider",
    "OpenAICompatibleProvider",
    "providers_from_environment",
]

_HTTP_TIMEOUT_S = 60.0

# USD per million tokens (input, output); a rough public price list, used for cost stats.
_PRICES: Mapping[LLMProvider, tuple[float, float]] = {
    LLMProvider.CLAUDE: (3.0, 15.0),
    LLMProvider.KIMI_K2: (0.6, 2.5),
    LLMProvider.OPENAI: (2.5, 10.0),
    LLMProvider.OLLAMA: (0.0, 0.0),
    LLMProvider.OFFLINE: (0.0, 0.0),
}


def _cost(provider: LLMProvider, input_tokens: int, output_tokens: int) -> float:
    price_in, price_out = _PRICES[provider]
    return (input_tokens * price_in + output_tokens * price_out) / 1_000_000


def _usage(provider: LLMProvider, answer: Mapping[str, Any], *names: str) -> tuple[int, ...]:
    """The token counts ``names`` of ``answer["usage"]``; absent counts are 0.

    A missing or ``null`` usage block means "not reported" (some local servers omit it).
    A block that is there but malformed (not an object, a count that is ``null``, negative,
    fractional or not a number) makes the whole answer malformed: a :class:`ProviderError`,
    so the router falls back and counts the failure instead of crashing with ``TypeError``.
    """
    usage = answer.get("usage")
    if usage is None:
        return tuple(0 for _ in names)
    if not isinstance(usage, Mapping):
        raise ProviderError(provider, f"answer's usage is not an object: {type(usage).__name__}")
    counts = []
    for name in names:
        value = usage.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ProviderError(provider, f"answer's usage.{name} is not a count: {value!r}")
        counts.append(value)
    return tuple(counts)


def _post_json(
    provider: LLMProvider, url: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> dict[str, Any]:
    """POST ``body`` as JSON and return the decoded answer; any failure is a ProviderError."""
    if not url.startswith(("http://", "https://")):
        raise ProviderError(provider, f"base URL must be http(s): {url!r}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked just above
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_S) as answer:  # noqa: S310
            payload = answer.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode("utf-8", "replace")
        exc.close()
        raise ProviderError(provider, f"HTTP {exc.code} from {url}: {detail}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProviderError(provider, f"cannot reach {url}: {reason}") from None
    try:
        decoded = json.loads(payload)
    except ValueError:
        raise ProviderError(provider, f"answer from {url} is not JSON") from None
    if not isinstance(decoded, dict):
        raise ProviderError(provider, f"answer from {url} is not a JSON object")
    return decoded


# Runs the HTTP providers' blocking requests for the asyncio engine. Not the loop's default
# executor: that one has min(32, cores + 4) threads (6 on two cores), which would cap the
# asyncio engine below CORTEX_THREAD_POOL_SIZE. Threads are created only as requests need.
_http_pool: LazySingleton[ThreadPoolExecutor] = LazySingleton(
    lambda: ThreadPoolExecutor(max_workers=256, thread_name_prefix="cortex-http"),
    name="llm_router.http_pool",
)


class _BlockingHTTPProvider:
    """``acomplete`` for a provider whose ``complete`` blocks on an HTTP request."""

    def complete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        """The request; each provider implements it."""
        raise NotImplementedError

    async def acomplete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        """The blocking request on a thread of the shared HTTP pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            _http_pool.get(), self.complete, messages, temperature, max_tokens
        )


class OpenAICompatibleProvider(_BlockingHTTPProvider):
    """Any server with an OpenAI-style ``POST {base_url}/chat/completions``.

    Covers OpenAI itself, Kimi (Moonshot), Ollama (``http://localhost:11434/v1``), vLLM and
    llama.cpp servers. Each request opens its own connection: no client object is shared.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        provider: LLMProvider = LLMProvider.OPENAI,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.provider = provider
        self._api_key = api_key

    def complete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        """One blocking request."""
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        body = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        answer = _post_json(self.provider, f"{self.base_url}/chat/completions", body, headers)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ProviderError(self.provider, "answer has no choices[0].message") from None
        if not isinstance(content, str):
            raise ProviderError(self.provider, "answer's message content is not text")
        input_tokens, output_tokens, total_tokens = _usage(
            self.provider, answer, "prompt_tokens", "completion_tokens", "total_tokens"
        )
        return LLMResponse(
            content=content,
            provider=self.provider,
            model=str(answer.get("model", self.model)),
            tokens_used=total_tokens or input_tokens + output_tokens,
            cost_usd=_cost(self.provider, input_tokens, output_tokens),
            latency_seconds=time.perf_counter() - started,
            raw_response=answer,
        )


class AnthropicProvider(_BlockingHTTPProvider):
    """Anthropic's Messages API (``POST {base_url}/v1/messages``), standard library only."""

    provider = LLMProvider.CLAUDE

    def __init__(
        self,
        api_key: str,
        model: str = "claude-sonnet-4-5",
        base_url: str = "https://api.anthropic.com",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key

    def complete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        """One blocking request; ``system`` messages go to the ``system`` field."""
        started = time.perf_counter()
        system = "\n".join(m.get("content", "") for m in messages if m.get("role") == "system")
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "messages": [dict(m) for m in messages if m.get("role") != "system"],
        }
        if system:
            body["system"] = system
        headers = {"x-api-key": self._api_key, "anthropic-version": "2023-06-01"}
        answer = _post_json(self.provider, f"{self.base_url}/v1/messages", body, headers)
        try:
            content = "".join(
                str(block.get("text", ""))
                for block in answer["content"]
                if block.get("type") == "text"
            )
        except (KeyError, TypeError, AttributeError):
            raise ProviderError(self.provider, "answer has no content blocks") from None
        input_tokens, output_tokens = _usage(self.provider, answer, "input_tokens", "output_tokens")
        return LLMResponse(
            content=content,
            provider=self.provider,
            model=str(answer.get("model", self.model)),
            tokens_used=input_tokens + output_tokens,
            cost_usd=_cost(self.provider, input_tokens, output_tokens),
            latency_seconds=time.perf_counter() - started,
            raw_response=answer,
        )


PROVIDER_ENVIRONMENT: Mapping[str, str] = {
    "ANTHROPIC_API_KEY": "Claude through Anthropic's API (or the claude_api_key argument)",
    "ANTHROPIC_BASE_URL": "another Anthropic-compatible endpoint (default api.anthropic.com)",
    "ANTHROPIC_MODEL": "the Claude model (default claude-sonnet-4-5)",
    "MOONSHOT_API_KEY": "Kimi K2 through Moonshot's OpenAI-compatible API (or kimi_api_key)",
    "OPENAI_API_KEY": "OpenAI, or any OpenAI-compatible server with OPENAI_BASE_URL",
    "OPENAI_BASE_URL": "an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1",
    "OPENAI_MODEL": "the model name sent to it (default gpt-4o-mini)",
    "OLLAMA_HOST": "a local Ollama server, e.g. http://127.0.0.1:11434",
    "OLLAMA_MODEL": "the Ollama model (default llama3.2)",
}
"""The environment variables that configure real providers. With none set, the router
uses :class:`OfflineProvider`."""


def providers_from_environment(
    environ: Mapping[str, str] | None = None,
    *,
    claude_api_key: str | None = None,
    kimi_api_key: str | None = None,
) -> dict[LLMProvider, Provider]:
    """The real providers that ``environ`` (default ``os.environ``) and the keys configure."""
    env = os.environ if environ is None else environ
    found: dict[LLMProvider, Provider] = {}
    claude_key = claude_api_key or env.get("ANTHROPIC_API_KEY")
    if claude_key:
        found[LLMProvider.CLAUDE] = AnthropicProvider(
            claude_key,
            model=env.get("ANTHROPIC_MODEL", "claude-sonnet-4-5"),
            base_url=env.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
        )
    kimi_key = kimi_api_key or env.get("MOONSHOT_API_KEY")
    if kimi_key:
        found[LLMProvider.KIMI_K2] = OpenAICompatibleProvider(
            "https://api.moonshot.ai/v1", "kimi-k2-0905-preview", kimi_key, LLMProvider.KIMI_K2
        )
    openai_url = env.get("OPENAI_BASE_URL")
    openai_key = env.get("OPENAI_API_KEY")
    if openai_url or openai_key:
        found[LLMProvider.OPENAI] = OpenAICompatibleProvider(
            openai_url or "https://api.openai.com/v1",
            env.get("OPENAI_MODEL", "gpt-4o-mini"),
            openai_key,
        )
    ollama = env.get("OLLAMA_HOST")
    if ollama:
        host = ollama if "://" in ollama else f"http://{ollama}"
        found[LLMProvider.OLLAMA] = OpenAICompatibleProvider(
            f"{host.rstrip('/')}/v1", env.get("OLLAMA_MODEL", "llama3.2"), None, LLMProvider.OLLAMA
        )
    return found
