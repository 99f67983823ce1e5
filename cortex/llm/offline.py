"""The offline provider: deterministic apt commands for the packages a prompt names.

No network: it answers from the Debian package index (:mod:`cortex.dependency_resolver`,
with its :data:`~cortex.dependency_resolver.PACKAGE_ALIASES`) after a simulated latency.
Every test, notebook and benchmark runs on it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping, Sequence

from cortex.dependency_resolver import (
    ALIAS_NOTES,
    PACKAGE_ALIASES,
    PackageIndex,
    get_default_index,
)
from cortex.llm.base import LLMProvider, LLMResponse, count_tokens

__all__ = ["DEFAULT_OFFLINE_LATENCY", "OfflineProvider"]

DEFAULT_OFFLINE_LATENCY = 0.2
"""Seconds the offline provider waits before answering (stands for a model's latency)."""

_WORD = re.compile(r"[a-z0-9][a-z0-9+.-]*[a-z0-9+]|[a-z0-9]")
# "install nginx, redis and docker" up to the end of the line or a word that ends the list.
_INSTALL = re.compile(r"\binstall\s+(.*?)(?:\s+(?:on|with|using|for|in|from)\b|[;:!?]|$)", re.M)


class OfflineProvider:
    """Deterministic apt command lists for the packages a prompt names; no network.

    The answer for a prompt depends only on the prompt and the index: the packages named
    in the last user message (known names and
    :data:`~cortex.dependency_resolver.PACKAGE_ALIASES`) get ``apt-get update`` and one
    ``apt-get install -y`` line each. Names not in the index are
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
                if word in ALIAS_NOTES:
                    lines.append(f"# {ALIAS_NOTES[word]}")
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
        prompt_tokens = sum(count_tokens(m.get("content", "")) for m in messages)
        return LLMResponse(
            content=content,
            provider=self.provider,
            model=self.model,
            tokens_used=prompt_tokens + count_tokens(content),
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
