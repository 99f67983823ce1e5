"""Upstream's module helpers: one prompt, or many packages, errors or components at once.

:func:`complete_task` uses a process-wide router; the coroutines take a router and run
their requests concurrently on the running loop (:meth:`LLMRouter.complete_batch`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cortex.llm.base import LLMResponse, TaskType
from cortex.llm.router import LLMRouter
from cortex.utils.thread_utils import LazySingleton

__all__ = [
    "check_hardware_configs_parallel",
    "complete_task",
    "diagnose_errors_parallel",
    "query_multiple_packages",
]

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
