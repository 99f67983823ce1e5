"""What every part of the LLM layer shares: task types, providers, responses, errors.

:class:`Provider` is the protocol a provider implements; :class:`ProviderError` is the one
error a provider raises for a failed request, which makes the router fall back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

__all__ = [
    "AllProvidersFailedError",
    "LLMProvider",
    "LLMResponse",
    "Provider",
    "ProviderError",
    "RoutingDecision",
    "TaskType",
    "count_tokens",
]


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


def count_tokens(text: str) -> int:
    """A deterministic token estimate: about four characters per token."""
    return max(1, (len(text) + 3) // 4)
