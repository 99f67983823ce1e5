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

The implementation lives in the :mod:`cortex.llm` package, one concern per module:
``cortex.llm.base`` (task types, providers, responses, errors), ``cortex.llm.offline``
(the offline provider), ``cortex.llm.http`` (the HTTP providers and the provider
variables), ``cortex.llm.router`` (routing and statistics) and ``cortex.llm.helpers``
(upstream's helper coroutines). This module keeps every public name.
"""

from __future__ import annotations

from collections.abc import Mapping

from cortex.dependency_resolver import PACKAGE_ALIASES
from cortex.llm import http as _http
from cortex.llm import offline as _offline
from cortex.llm.base import (
    AllProvidersFailedError,
    LLMProvider,
    LLMResponse,
    Provider,
    ProviderError,
    RoutingDecision,
    TaskType,
)
from cortex.llm.helpers import (
    check_hardware_configs_parallel,
    complete_task,
    diagnose_errors_parallel,
    query_multiple_packages,
)
from cortex.llm.http import (
    AnthropicProvider,
    OpenAICompatibleProvider,
    providers_from_environment,
)
from cortex.llm.offline import OfflineProvider
from cortex.llm.router import LLMRouter

# The module's data, documented here where the reference shows it (same objects).
DEFAULT_OFFLINE_LATENCY: float = _offline.DEFAULT_OFFLINE_LATENCY
"""Seconds the offline provider waits before answering (stands for a model's latency)."""

PROVIDER_ENVIRONMENT: Mapping[str, str] = _http.PROVIDER_ENVIRONMENT
"""The environment variables that configure real providers (name -> what it selects).
With none set, the router uses :class:`OfflineProvider`."""

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
