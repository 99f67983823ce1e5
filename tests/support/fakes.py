"""Test doubles: a package probe and a command runner that run nothing, and a provider
that answers every request with the same text.

The first two stand in for :class:`cortex.transaction_history.DpkgProbe` and the ``apt``
runner in the tests and in the crash helper (:mod:`tests.support.crash`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

from cortex.llm_router import LLMProvider, LLMResponse
from cortex.transaction_history import PackageState
from cortex.utils.commands import CommandResult

__all__ = ["RecordingRunner", "Scripted", "StaticProbe"]


class StaticProbe:
    """A package probe that answers from a fixed table (unknown packages: not installed).

    Stands in for :class:`cortex.transaction_history.DpkgProbe` in tests and demos.
    """

    def __init__(self, installed: dict[str, str] | None = None) -> None:
        self.installed = dict(installed or {})  # name -> version; only read after this
        self._calls_lock = threading.Lock()  # guards `calls`
        self.calls = 0

    def state(self, package: str) -> PackageState:
        """The state from the table."""
        with self._calls_lock:
            self.calls += 1
        version = self.installed.get(package)
        return PackageState(name=package, version=version, installed=version is not None)


class RecordingRunner:
    """A command runner that records argument lists instead of running them.

    Args:
        fail: programs' argument lists containing this word fail with return code 100.
        delay: seconds each "run" takes (widens race windows in tests).
    """

    def __init__(self, fail: str | None = None, delay: float = 0.0) -> None:
        self.fail = fail
        self.delay = delay
        self._lock = threading.Lock()  # guards `commands`
        self.commands: list[list[str]] = []

    def run(self, argv: Sequence[str]) -> CommandResult:
        """Record ``argv``; fail it if it mentions ``fail``."""
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.commands.append(list(argv))
        if self.fail is not None and self.fail in argv:
            return CommandResult(100, "", f"E: Unable to locate package {self.fail}")
        return CommandResult(0, "", "")


class Scripted:
    """A provider that answers every request with ``content`` (as a hostile or broken
    model's answer would be)."""

    provider = LLMProvider.OPENAI
    model = "scripted"

    def __init__(self, content: str) -> None:
        self.content = content

    def complete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        return LLMResponse(self.content, self.provider, self.model, 1, 0.0, 0.0)

    async def acomplete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        return self.complete(messages, temperature, max_tokens)
