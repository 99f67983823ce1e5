"""The router: which provider a task goes to, fallback once per provider, statistics.

Statistics are exact under concurrency (one lock, ``reset_stats`` included), and the
fallback tries each configured provider at most once per request, then raises one
:class:`~cortex.llm_router.AllProvidersFailedError` listing every failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cortex.dependency_resolver import PackageIndex
from cortex.llm.base import (
    AllProvidersFailedError,
    LLMProvider,
    LLMResponse,
    Provider,
    ProviderError,
    RoutingDecision,
    TaskType,
)
from cortex.llm.http import providers_from_environment
from cortex.llm.offline import DEFAULT_OFFLINE_LATENCY, OfflineProvider

__all__ = ["LLMRouter"]

logger = logging.getLogger("cortex.llm_router")  # the name upstream's users configure

# Which provider suits which task best, when both are configured.
_ROUTING: Mapping[TaskType, LLMProvider] = {
    TaskType.USER_CHAT: LLMProvider.CLAUDE,
    TaskType.REQUIREMENT_PARSING: LLMProvider.CLAUDE,
    TaskType.SYSTEM_OPERATION: LLMProvider.KIMI_K2,
    TaskType.ERROR_DEBUGGING: LLMProvider.KIMI_K2,
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

    ROUTING_RULES: Mapping[TaskType, LLMProvider] = _ROUTING
    """The provider each task type prefers (upstream's class attribute)."""

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
            return RoutingDecision(force_provider, task_type, "Forced by caller", 1.0)
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
