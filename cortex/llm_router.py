"""LLM routing: pick a provider per task, call it, fall back once per provider, count costs.

A drop-in for upstream Cortex's ``cortex.llm_router`` (same public names, parameters and
defaults). What differs:

* **An offline provider** (:class:`OfflineProvider`) is the default whenever no API key or
  base URL is configured. It needs no network: after a configurable simulated latency it
  answers with a deterministic, plausible list of apt commands for the packages named in
  the prompt, checked against the Debian package index
  (:mod:`cortex.dependency_resolver`). Every test, notebook and benchmark runs on it.
* **Real providers** speak HTTP with the standard library only (``urllib``), one
  request per connection, so nothing is shared between threads:
  :class:`OpenAICompatibleProvider` (OpenAI, Kimi/Moonshot, Ollama and any server with an
  OpenAI-style ``/chat/completions``) and :class:`AnthropicProvider` (``/v1/messages``).
  They are configured by the vendors' usual environment variables, listed in
  :data:`PROVIDER_ENVIRONMENT`.
* **Statistics are exact under concurrency**: every request, token and cent is added under
  one lock, and :meth:`LLMRouter.reset_stats` takes the same lock (upstream's did not).
* **Fallback tries each provider at most once per request**, then raises one
  :class:`AllProvidersFailedError` that lists every provider tried and why it failed.
  Upstream's fallback recursed with no memory of what it had tried, so two failing
  providers bounced until ``RecursionError``.

:meth:`LLMRouter.acomplete`, :meth:`LLMRouter.complete_batch` and the module helpers
(:func:`query_multiple_packages`, ...) are coroutines, as upstream. They hold no asyncio
object beyond one call, so one router serves any number of event loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from cortex.dependency_resolver import PackageIndex, get_default_index
from cortex.utils.thread_utils import LazySingleton

__all__ = [
    "DEFAULT_OFFLINE_LATENCY",
    "PACKAGE_ALIASES",
    "PROVIDER_ENVIRONMENT",
    "AllProvidersFailedError",
    "AnthropicProvider",
    "LLMProvider",
    "LLMResponse",
    "LLMRouter",
    "OfflineProvider",
    "OpenAICompatibleProvider",
    "Provider",
    "ProviderError",
    "RoutingDecision",
    "TaskType",
    "check_hardware_configs_parallel",
    "complete_task",
    "diagnose_errors_parallel",
    "providers_from_environment",
    "query_multiple_packages",
]

logger = logging.getLogger(__name__)

DEFAULT_OFFLINE_LATENCY = 0.2
"""Seconds the offline provider waits before answering (stands for a model's latency)."""

_HTTP_TIMEOUT_S = 60.0


class TaskType(Enum):
    """What a request is for; decides which provider suits it best."""

    USER_CHAT = "user_chat"
    REQUIREMENT_PARSING = "requirement_parsing"
    SYSTEM_OPERATION = "system_operation"
    ERROR_DEBUGGING = "error_debugging"
    CODE_GENERATION = "code_generation"
    DEPENDENCY_RESOLUTION = "dependency_resolution"
    CONFIGURATION = "configuration"
    TOOL_EXECUTION = "tool_execution"


class LLMProvider(Enum):
    """A model provider. ``OFFLINE`` needs no network and is always available."""

    CLAUDE = "claude"
    KIMI_K2 = "kimi_k2"
    OPENAI = "openai"
    OLLAMA = "ollama"
    OFFLINE = "offline"


@dataclass(frozen=True)
class LLMResponse:
    """One completion."""

    content: str
    provider: LLMProvider
    model: str
    tokens_used: int
    cost_usd: float
    latency_seconds: float
    raw_response: dict[str, Any] | None = None


@dataclass(frozen=True)
class RoutingDecision:
    """Which provider a task goes to, and why."""

    provider: LLMProvider
    task_type: TaskType
    reasoning: str
    confidence: float


class ProviderError(RuntimeError):
    """One provider failed one request (unreachable, HTTP error, malformed answer)."""

    def __init__(self, provider: LLMProvider, message: str) -> None:
        super().__init__(f"{provider.value}: {message}")
        self.provider = provider
        self.message = message


class AllProvidersFailedError(RuntimeError):
    """Every provider tried for one request failed; ``failures`` says which and why."""

    def __init__(self, failures: Sequence[tuple[LLMProvider, str]]) -> None:
        self.failures = tuple(failures)
        detail = "; ".join(f"{p.value}: {why}" for p, why in self.failures)
        super().__init__(f"all LLM providers failed ({len(self.failures)} tried): {detail}")


class Provider(Protocol):
    """What the router needs from a provider. Implementations must be thread-safe."""

    provider: LLMProvider
    model: str

    def complete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        """Blocking completion.

        Raises:
            ProviderError: the request failed.
        """
        ...

    async def acomplete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        """The same completion as a coroutine."""
        ...


def _count_tokens(text: str) -> int:
    """A deterministic token estimate: about four characters per token."""
    return max(1, (len(text) + 3) // 4)


# --------------------------------------------------------------------------------------
# The offline provider
# --------------------------------------------------------------------------------------

PACKAGE_ALIASES: Mapping[str, str] = {
    "docker": "docker.io",  # Debian's "docker" is wmdocker, a system-tray dock
    "node": "nodejs",
    "postgres": "postgresql",
    "mysql": "default-mysql-server",
    "python": "python3",
    "apache": "apache2",
    "httpd": "apache2",
}
"""What people type -> the Debian package they mean, where the two differ."""

_ALIAS_NOTES: Mapping[str, str] = {
    "docker": "Debian's 'docker' package is wmdocker (a system-tray dock); "
    "the Docker engine is packaged as docker.io",
}

_WORD = re.compile(r"[a-z0-9][a-z0-9+.-]*[a-z0-9+]|[a-z0-9]")
# "install nginx, redis and docker" up to the end of the line or a word that ends the list.
_INSTALL = re.compile(r"\binstall\s+(.*?)(?:\s+(?:on|with|using|for|in|from)\b|[;:!?]|$)", re.M)


class OfflineProvider:
    """Deterministic apt command lists for the packages a prompt names; no network.

    The answer for a prompt depends only on the prompt and the index: the packages named
    in the last user message (known names and :data:`PACKAGE_ALIASES`) get
    ``apt-get update`` and one ``apt-get install -y`` line each. Names not in the index are
    reported in a comment line. It sleeps ``latency`` seconds first (``time.sleep`` when
    blocking, ``asyncio.sleep`` as a coroutine), like a remote model would take.

    Args:
        index: the package index, or a callable returning it (called on first use); by
            default :func:`cortex.dependency_resolver.get_default_index`.
        latency: simulated seconds per request.
    """

    provider = LLMProvider.OFFLINE
    model = "cortex-offline-1"

    def __init__(
        self,
        index: PackageIndex | Callable[[], PackageIndex] | None = None,
        latency: float = DEFAULT_OFFLINE_LATENCY,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0, not {latency}")
        self.latency = latency
        self._index_source = index if index is not None else get_default_index

    @property
    def index(self) -> PackageIndex:
        """The package index answers are checked against."""
        source = self._index_source
        return source if isinstance(source, PackageIndex) else source()

    def answer(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The deterministic answer for ``messages`` (no latency).

        The packages are the words after "install" in the last user message (or, without
        that word, every word of it that names a package); aliases such as ``docker`` map
        to the package people mean, with a comment saying so.
        """
        prompt = next(
            (m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), ""
        ).lower()
        request = _INSTALL.search(prompt)
        words = _WORD.findall(request.group(1) if request else prompt)
        index = self.index
        wanted: list[str] = []
        lines: list[str] = []
        for word in words:
            if word in _STOPWORDS:
                continue
            target = PACKAGE_ALIASES.get(word)
            if target is not None and target in index:
                if word in _ALIAS_NOTES:
                    lines.append(f"# {_ALIAS_NOTES[word]}")
                wanted.append(target)
            elif word in index:
                wanted.append(word)
            elif request is not None:
                lines.append(f"# not in the package index: {word}")
        wanted = list(dict.fromkeys(wanted))
        if wanted:
            lines.append("apt-get update")
            lines += [f"apt-get install -y {name}" for name in wanted]
        else:
            lines.append("# no installable package named in the request")
        return "\n".join(lines)

    def _response(self, messages: Sequence[Mapping[str, str]], started: float) -> LLMResponse:
        content = self.answer(messages)
        prompt_tokens = sum(_count_tokens(m.get("content", "")) for m in messages)
        return LLMResponse(
            content=content,
            provider=self.provider,
            model=self.model,
            tokens_used=prompt_tokens + _count_tokens(content),
            cost_usd=0.0,
            latency_seconds=time.perf_counter() - started,
            raw_response=None,
        )

    def complete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        """Sleep ``latency`` seconds, then answer."""
        started = time.perf_counter()
        if self.latency:
            time.sleep(self.latency)
        return self._response(messages, started)

    async def acomplete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        """``await asyncio.sleep(latency)``, then answer."""
        started = time.perf_counter()
        if self.latency:
            await asyncio.sleep(self.latency)
        return self._response(messages, started)


# Words of an English prompt that happen to be Debian package names.
_STOPWORDS = frozenset(
    {"install", "and", "the", "for", "with", "on", "to", "a", "of", "in", "how", "me", "please"}
)


# --------------------------------------------------------------------------------------
# HTTP providers (standard library only)
# --------------------------------------------------------------------------------------

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
    except (ValueError, RecursionError):  # RecursionError: an answer nested too deeply
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
    fork_reset=True,  # a forked child has none of the pool's threads: it makes its own
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
            content = str(answer["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError):
            raise ProviderError(self.provider, "answer has no choices[0].message") from None
        usage = answer.get("usage") or {}
        input_tokens = int(usage.get("prompt_tokens", 0))
        output_tokens = int(usage.get("completion_tokens", 0))
        return LLMResponse(
            content=content,
            provider=self.provider,
            model=str(answer.get("model", self.model)),
            tokens_used=int(usage.get("total_tokens", input_tokens + output_tokens)),
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
        usage = answer.get("usage") or {}
        input_tokens = int(usage.get("input_tokens", 0))
        output_tokens = int(usage.get("output_tokens", 0))
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


# --------------------------------------------------------------------------------------
# The router
# --------------------------------------------------------------------------------------

# Which provider suits which task best, when both are configured.
_ROUTING: Mapping[TaskType, LLMProvider] = {
    TaskType.USER_CHAT: LLMProvider.CLAUDE,
    TaskType.REQUIREMENT_PARSING: LLMProvider.CLAUDE,
    TaskType.ERROR_DEBUGGING: LLMProvider.CLAUDE,
    TaskType.SYSTEM_OPERATION: LLMProvider.KIMI_K2,
    TaskType.CODE_GENERATION: LLMProvider.KIMI_K2,
    TaskType.DEPENDENCY_RESOLUTION: LLMProvider.KIMI_K2,
    TaskType.CONFIGURATION: LLMProvider.KIMI_K2,
    TaskType.TOOL_EXECUTION: LLMProvider.KIMI_K2,
}
_PREFERENCE = (
    LLMProvider.CLAUDE,
    LLMProvider.KIMI_K2,
    LLMProvider.OPENAI,
    LLMProvider.OLLAMA,
    LLMProvider.OFFLINE,
)


@dataclass
class _ProviderStats:
    requests: int = 0
    failures: int = 0
    tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class _Stats:
    total_requests: int = 0
    failed_requests: int = 0
    fallbacks: int = 0
    per_provider: dict[LLMProvider, _ProviderStats] = field(default_factory=dict)


class LLMRouter:
    """Routes each request to a provider, falls back once per provider, counts costs.

    Args:
        claude_api_key: Anthropic key; default ``ANTHROPIC_API_KEY``.
        kimi_api_key: Moonshot key; default ``MOONSHOT_API_KEY``.
        default_provider: used for tasks whose preferred provider is not configured.
        enable_fallback: on failure, try the other configured providers (each once).
        track_costs: keep token and cost statistics (requests are always counted).
        providers: use exactly these providers (tests, notebooks); skips the environment.
        environ: read provider variables from this mapping instead of ``os.environ``.
        offline_latency: simulated latency of the offline provider, when it is used.
        index: package index for the offline provider (default: the machine's).

    With no key, base URL or ``providers``, the only provider is :class:`OfflineProvider`.
    The router is thread-safe and event-loop-agnostic: share one.
    """

    def __init__(
        self,
        claude_api_key: str | None = None,
        kimi_api_key: str | None = None,
        default_provider: LLMProvider = LLMProvider.CLAUDE,
        enable_fallback: bool = True,
        track_costs: bool = True,
        *,
        providers: Mapping[LLMProvider, Provider] | None = None,
        environ: Mapping[str, str] | None = None,
        offline_latency: float = DEFAULT_OFFLINE_LATENCY,
        index: PackageIndex | Callable[[], PackageIndex] | None = None,
    ) -> None:
        if providers is None:
            providers = providers_from_environment(
                environ, claude_api_key=claude_api_key, kimi_api_key=kimi_api_key
            )
            if not providers:
                providers = {LLMProvider.OFFLINE: OfflineProvider(index, offline_latency)}
        if not providers:
            raise ValueError("LLMRouter needs at least one provider")
        self.providers: dict[LLMProvider, Provider] = dict(providers)
        self.default_provider = default_provider
        self.enable_fallback = enable_fallback
        self.track_costs = track_costs
        # Guards _stats (every counter, and reset_stats replacing it).
        self._stats_lock = threading.Lock()
        self._stats = _Stats()
        # Bounds requests in flight across every thread and event loop once set_rate_limit
        # is called; None (the default) leaves the bound to the caller (e.g. the executor).
        self._concurrency: threading.BoundedSemaphore | None = None

    # -- routing -------------------------------------------------------------------------

    def route_task(
        self, task_type: TaskType, force_provider: LLMProvider | None = None
    ) -> RoutingDecision:
        """Which configured provider ``task_type`` goes to.

        Raises:
            ValueError: ``force_provider`` is not configured.
        """
        if force_provider is not None:
            if force_provider not in self.providers:
                configured = ", ".join(p.value for p in self.providers)
                raise ValueError(
                    f"provider {force_provider.value} is not configured (have: {configured})"
                )
            return RoutingDecision(force_provider, task_type, "forced by caller", 1.0)
        preferred = _ROUTING.get(task_type, self.default_provider)
        if preferred in self.providers:
            return RoutingDecision(preferred, task_type, f"best suited to {task_type.value}", 0.9)
        if self.default_provider in self.providers:
            return RoutingDecision(
                self.default_provider,
                task_type,
                f"{preferred.value} not configured; default provider",
                0.7,
            )
        chosen = next(p for p in _PREFERENCE if p in self.providers)
        return RoutingDecision(
            chosen, task_type, f"only configured provider kind: {chosen.value}", 0.6
        )

    def _attempt_order(
        self, task_type: TaskType, force_provider: LLMProvider | None
    ) -> list[LLMProvider]:
        first = self.route_task(task_type, force_provider).provider
        if not self.enable_fallback or force_provider is not None:
            return [first]
        # Each provider once: the routed one, then the others in preference order.
        return [first] + [p for p in _PREFERENCE if p in self.providers and p != first]

    # -- statistics ----------------------------------------------------------------------

    def _record(self, provider: LLMProvider, response: LLMResponse | None, fallback: bool) -> None:
        with self._stats_lock:
            stats = self._stats
            entry = stats.per_provider.setdefault(provider, _ProviderStats())
            if response is None:
                entry.failures += 1
                return
            stats.total_requests += 1
            stats.fallbacks += int(fallback)
            entry.requests += 1
            if self.track_costs:
                entry.tokens += response.tokens_used
                entry.cost_usd += response.cost_usd

    def _record_failed_request(self) -> None:
        with self._stats_lock:
            self._stats.failed_requests += 1

    def get_stats(self) -> dict[str, Any]:
        """A consistent snapshot: totals and per-provider requests, tokens and cost."""
        with self._stats_lock:
            stats = self._stats
            providers = {
                p.value: {
                    "requests": s.requests,
                    "failures": s.failures,
                    "tokens": s.tokens,
                    "cost_usd": round(s.cost_usd, 6),
                }
                for p, s in stats.per_provider.items()
            }
            return {
                "total_requests": stats.total_requests,
                "failed_requests": stats.failed_requests,
                "fallbacks": stats.fallbacks,
                "total_tokens": sum(s.tokens for s in stats.per_provider.values()),
                "total_cost_usd": round(sum(s.cost_usd for s in stats.per_provider.values()), 6),
                "providers": providers,
            }

    def reset_stats(self) -> None:
        """Zero every counter, atomically with respect to concurrent requests."""
        with self._stats_lock:
            self._stats = _Stats()

    def set_rate_limit(self, max_concurrent: int = 10) -> None:
        """Allow at most ``max_concurrent`` requests in flight (threads and loops together).

        Without a call there is no bound beyond the caller's own (the executor's pool).
        Requests already waiting keep the old limit; new ones use the new one.
        """
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, not {max_concurrent}")
        self._concurrency = threading.BoundedSemaphore(max_concurrent)

    # -- completions ---------------------------------------------------------------------

    def complete(  # noqa: PLR0917 - upstream's positional signature
        self,
        messages: Sequence[Mapping[str, str]],
        task_type: TaskType = TaskType.USER_CHAT,
        force_provider: LLMProvider | None = None,
        temperature: float = 0.7,
        max_tokens: int = 4096,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> LLMResponse:
        """Complete ``messages`` on the routed provider, falling back once per provider.

        ``tools`` is accepted for upstream compatibility and not sent.

        Raises:
            AllProvidersFailedError: every provider tried failed.
        """
        failures: list[tuple[LLMProvider, str]] = []
        for attempt, provider in enumerate(self._attempt_order(task_type, force_provider)):
            semaphore = self._concurrency
            with semaphore if semaphore is not None else contextlib.nullcontext():
                try:
                    response = self.providers[provider].complete(messages, temperature, max_tokens)
                except ProviderError as exc:
                    failures.append((provider, exc.message))
                    self._record(provider, None, False)
                    logger.info("LLM provider %s failed: %s", provider.value, exc.message)
                    continue
            self._record(provider, response, attempt > 0)
            return response
        self._record_failed_request()
        raise AllProvidersFailedError(failures)

    async def acomplete(  # noqa: PLR0917 - upstream's positional signature
        self,
        messages: Sequence[Mapping[str, str]],
        task_type: TaskType = TaskType.USER_CHAT,
        force_provider: LLMProvider | None = None,
        temperature: float = 0.7,
        max_tokens: int = 4096,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> LLMResponse:
        """:meth:`complete` as a coroutine; works from any event loop, any thread.

        The concurrency limit is a thread semaphore polled without blocking the loop, so
        no asyncio object outlives the call.
        """
        failures: list[tuple[LLMProvider, str]] = []
        for attempt, provider in enumerate(self._attempt_order(task_type, force_provider)):
            semaphore = self._concurrency
            while semaphore is not None and not semaphore.acquire(blocking=False):
                await asyncio.sleep(0.005)
            try:
                response = await self.providers[provider].acomplete(
                    messages, temperature, max_tokens
                )
            except ProviderError as exc:
                failures.append((provider, exc.message))
                self._record(provider, None, False)
                logger.info("LLM provider %s failed: %s", provider.value, exc.message)
                continue
            finally:
                if semaphore is not None:
                    semaphore.release()
            self._record(provider, response, attempt > 0)
            return response
        self._record_failed_request()
        raise AllProvidersFailedError(failures)

    async def complete_batch(
        self, requests: Sequence[Mapping[str, Any]], max_concurrent: int | None = None
    ) -> list[LLMResponse]:
        """Complete many requests concurrently on the running loop; results in order.

        Each request is a mapping of :meth:`acomplete` keyword arguments (``messages``
        required). ``max_concurrent`` bounds this batch only (default: no extra bound).

        Raises:
            AllProvidersFailedError: the first request that failed on every provider.
        """
        limit = asyncio.Semaphore(max_concurrent or max(1, len(requests)))  # this loop only

        async def one(request: Mapping[str, Any]) -> LLMResponse:
            async with limit:
                return await self.acomplete(**request)

        return list(await asyncio.gather(*(one(r) for r in requests)))


# --------------------------------------------------------------------------------------
# Module helpers
# --------------------------------------------------------------------------------------

_default_router: LazySingleton[LLMRouter] = LazySingleton(LLMRouter, name="default LLMRouter")


def _router() -> LLMRouter:
    return _default_router.get()


def complete_task(
    prompt: str,
    task_type: TaskType = TaskType.USER_CHAT,
    system_prompt: str | None = None,
    **kwargs: Any,
) -> str:
    """Complete one prompt on a process-wide router and return the text."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": prompt})
    return _router().complete(messages, task_type=task_type, **kwargs).content


def _messages(system_prompt: str | None, prompt: str) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*messages, {"role": "user", "content": prompt}]


async def query_multiple_packages(
    router: LLMRouter,
    package_names: Sequence[str],
    system_prompt: str | None = None,
    max_concurrent: int = 10,
) -> dict[str, LLMResponse]:
    """Ask for install commands for each package concurrently; keyed by package."""
    system = system_prompt or "You are a Linux package manager. Answer with apt commands only."
    requests = [
        {
            "messages": _messages(system, f"Install {name}"),
            "task_type": TaskType.DEPENDENCY_RESOLUTION,
        }
        for name in package_names
    ]
    responses = await router.complete_batch(requests, max_concurrent=max_concurrent)
    return dict(zip(package_names, responses, strict=True))


async def diagnose_errors_parallel(
    router: LLMRouter,
    error_messages: Sequence[str],
    context: str | None = None,
    max_concurrent: int = 10,
) -> list[LLMResponse]:
    """Diagnose each error message concurrently; results in input order."""
    system = "You diagnose Linux installation errors." + (f" Context: {context}" if context else "")
    requests = [
        {
            "messages": _messages(system, f"Diagnose: {error}"),
            "task_type": TaskType.ERROR_DEBUGGING,
        }
        for error in error_messages
    ]
    return await router.complete_batch(requests, max_concurrent=max_concurrent)


async def check_hardware_configs_parallel(
    router: LLMRouter,
    hardware_components: Sequence[str],
    hardware_info: Mapping[str, Any] | None = None,
    max_concurrent: int = 10,
) -> dict[str, LLMResponse]:
    """Ask for configuration advice on each component concurrently; keyed by component."""
    info = json.dumps(dict(hardware_info or {}), sort_keys=True, default=str)
    requests = [
        {
            "messages": _messages(
                f"You configure Linux drivers. Hardware: {info}", f"Check {component}"
            ),
            "task_type": TaskType.CONFIGURATION,
        }
        for component in hardware_components
    ]
    responses = await router.complete_batch(requests, max_concurrent=max_concurrent)
    return dict(zip(hardware_components, responses, strict=True))
