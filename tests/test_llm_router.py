"""LLM router: offline answers, routing, exact statistics, fallback, real providers on a stub."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cortex.demos.harness import run_together
from cortex.demos.interleavings import check_fix, show_race
from cortex.demos.llm_stats import LockedStats, UnsafeStats, race_stats, stats_model
from cortex.dependency_resolver import PackageIndex, generate_index_text, parse_packages
from cortex.llm_router import (
    AllProvidersFailedError,
    AnthropicProvider,
    LLMProvider,
    LLMResponse,
    LLMRouter,
    OfflineProvider,
    OpenAICompatibleProvider,
    ProviderError,
    TaskType,
    check_hardware_configs_parallel,
    diagnose_errors_parallel,
    providers_from_environment,
    query_multiple_packages,
)

EXPLORES = pytest.mark.thread_unsafe(
    reason="explores interleavings: one exploration or preemption block per process at a time"
)

USER = [{"role": "user", "content": "Install nginx"}]


@pytest.fixture(scope="module")
def index() -> PackageIndex:
    return parse_packages(generate_index_text(300))


class FakeProvider:
    """A provider that fails ``failures`` times, then answers; counts calls and concurrency."""

    def __init__(self, provider: LLMProvider, failures: int = 0, delay: float = 0.0) -> None:
        self.provider = provider
        self.model = f"{provider.value}-model"
        self.failures = failures
        self.delay = delay
        self._lock = threading.Lock()  # guards calls, in_flight, peak
        self.calls = 0
        self.in_flight = 0
        self.peak = 0

    def _enter(self) -> int:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self.calls

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _answer(self, call: int) -> LLMResponse:
        if call <= self.failures:
            raise ProviderError(self.provider, f"failure {call}")
        return LLMResponse("apt-get install -y nginx", self.provider, self.model, 10, 0.01, 0.0)

    def complete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        call = self._enter()
        try:
            if self.delay:
                threading.Event().wait(self.delay)
            return self._answer(call)
        finally:
            self._leave()

    async def acomplete(
        self, messages: Sequence[Mapping[str, str]], temperature: float, max_tokens: int
    ) -> LLMResponse:
        call = self._enter()
        try:
            await asyncio.sleep(self.delay)
            return self._answer(call)
        finally:
            self._leave()


# -- offline provider and routing --------------------------------------------------------


def test_offline_is_the_default_and_answers_deterministically(index: PackageIndex) -> None:
    router = LLMRouter(environ={}, index=index, offline_latency=0)
    assert list(router.providers) == [LLMProvider.OFFLINE]
    first = router.complete([{"role": "user", "content": "Install docker and nginx"}])
    again = router.complete([{"role": "user", "content": "Install docker and nginx"}])
    assert first.content == again.content
    lines = first.content.splitlines()
    assert lines[0].startswith("# Debian's 'docker' package is wmdocker")
    assert lines[1:] == [
        "apt-get update",
        "apt-get install -y docker.io",
        "apt-get install -y nginx",
    ]
    assert first.provider is LLMProvider.OFFLINE
    assert first.cost_usd == 0.0
    assert first.tokens_used > 0
    unknown = OfflineProvider(index, latency=0).answer(
        [{"role": "user", "content": "install not-a-package"}]
    )
    assert "not in the package index: not-a-package" in unknown


def test_offline_latency_is_simulated(index: PackageIndex) -> None:
    provider = OfflineProvider(index, latency=0.05)
    assert provider.complete(USER, 0.7, 100).latency_seconds >= 0.05
    assert asyncio.run(provider.acomplete(USER, 0.7, 100)).latency_seconds >= 0.05
    with pytest.raises(ValueError, match="latency"):
        OfflineProvider(index, latency=-1)


def test_routing_prefers_the_provider_suited_to_the_task() -> None:
    router = LLMRouter(
        providers={
            LLMProvider.CLAUDE: FakeProvider(LLMProvider.CLAUDE),
            LLMProvider.KIMI_K2: FakeProvider(LLMProvider.KIMI_K2),
        }
    )
    assert router.route_task(TaskType.USER_CHAT).provider is LLMProvider.CLAUDE
    assert router.route_task(TaskType.SYSTEM_OPERATION).provider is LLMProvider.KIMI_K2
    forced = router.route_task(TaskType.USER_CHAT, force_provider=LLMProvider.KIMI_K2)
    assert forced.provider is LLMProvider.KIMI_K2
    with pytest.raises(ValueError, match="not configured"):
        router.route_task(TaskType.USER_CHAT, force_provider=LLMProvider.OPENAI)
    only_openai = LLMRouter(providers={LLMProvider.OPENAI: FakeProvider(LLMProvider.OPENAI)})
    assert only_openai.route_task(TaskType.USER_CHAT).provider is LLMProvider.OPENAI


# -- statistics ---------------------------------------------------------------------------


@pytest.mark.stress
def test_stats_are_exact_under_100_threads(index: PackageIndex) -> None:
    router = LLMRouter(environ={}, index=index, offline_latency=0)
    per_thread = 10
    responses = run_together(
        lambda _i: [router.complete(USER).tokens_used for _ in range(per_thread)], 100
    )
    stats = router.get_stats()
    assert stats["total_requests"] == 100 * per_thread
    assert stats["providers"]["offline"]["requests"] == 100 * per_thread
    assert stats["total_tokens"] == sum(sum(r) for r in responses)
    router.reset_stats()
    assert router.get_stats()["total_requests"] == 0


@pytest.mark.stress
def test_snapshots_stay_consistent_while_resetting(index: PackageIndex) -> None:
    router = LLMRouter(environ={}, index=index, offline_latency=0)

    def work(i: int) -> bool:
        consistent = True
        for _ in range(10):
            if i % 10 == 0:
                router.reset_stats()
            router.complete(USER)
            stats = router.get_stats()
            per_provider = sum(p["requests"] for p in stats["providers"].values())
            consistent &= stats["total_requests"] == per_provider
        return consistent

    assert all(run_together(work, 100))


STATS = "cortex.demos.llm_stats"


@pytest.mark.twin
def test_the_unsafe_twin_counter_loses_updates() -> None:
    report = show_race(stats_model(UnsafeStats), targets=[STATS], budget=100)
    assert report.found, report.details()
    assert "update lost" in report.error


@EXPLORES
def test_the_locked_counter_holds_under_every_explored_schedule() -> None:
    check = check_fix(stats_model(LockedStats), targets=[STATS], budget=100)
    assert check.held, check.error
    fixed = race_stats(LockedStats(), threads=100, per_thread=5)
    assert fixed.exact, fixed


# -- fallback -----------------------------------------------------------------------------


def test_fallback_tries_each_provider_once_then_lists_every_failure() -> None:
    claude = FakeProvider(LLMProvider.CLAUDE, failures=99)
    kimi = FakeProvider(LLMProvider.KIMI_K2, failures=99)
    router = LLMRouter(providers={LLMProvider.CLAUDE: claude, LLMProvider.KIMI_K2: kimi})
    with pytest.raises(AllProvidersFailedError) as caught:
        router.complete(USER)
    assert (claude.calls, kimi.calls) == (1, 1)  # upstream bounced until RecursionError
    message = str(caught.value)
    assert "claude: failure 1" in message
    assert "kimi_k2: failure 1" in message
    assert [p for p, _ in caught.value.failures] == [LLMProvider.CLAUDE, LLMProvider.KIMI_K2]
    stats = router.get_stats()
    assert stats["failed_requests"] == 1
    assert stats["providers"]["claude"]["failures"] == 1


def test_fallback_succeeds_on_the_next_provider_and_can_be_disabled() -> None:
    claude = FakeProvider(LLMProvider.CLAUDE, failures=1)
    kimi = FakeProvider(LLMProvider.KIMI_K2)
    router = LLMRouter(providers={LLMProvider.CLAUDE: claude, LLMProvider.KIMI_K2: kimi})
    assert router.complete(USER).provider is LLMProvider.KIMI_K2
    assert router.get_stats()["fallbacks"] == 1
    strict = LLMRouter(
        providers={
            LLMProvider.CLAUDE: FakeProvider(LLMProvider.CLAUDE, failures=1),
            LLMProvider.KIMI_K2: kimi,
        },
        enable_fallback=False,
    )
    with pytest.raises(AllProvidersFailedError):
        strict.complete(USER)
    assert asyncio.run(strict.acomplete(USER)).provider is LLMProvider.CLAUDE


def test_async_fallback_is_bounded_too() -> None:
    router = LLMRouter(
        providers={
            LLMProvider.CLAUDE: FakeProvider(LLMProvider.CLAUDE, failures=99),
            LLMProvider.OPENAI: FakeProvider(LLMProvider.OPENAI, failures=99),
        }
    )
    with pytest.raises(AllProvidersFailedError, match=r"\(2 tried\)"):
        asyncio.run(router.acomplete(USER))


# -- concurrency limit and many event loops -------------------------------------------------


def test_set_rate_limit_bounds_requests_in_flight() -> None:
    fake = FakeProvider(LLMProvider.OPENAI, delay=0.02)
    router = LLMRouter(providers={LLMProvider.OPENAI: fake})
    router.set_rate_limit(max_concurrent=3)
    run_together(lambda _i: router.complete(USER), 12)
    assert fake.peak <= 3
    with pytest.raises(ValueError, match="max_concurrent"):
        router.set_rate_limit(0)


def test_one_router_serves_several_event_loops_and_batches(index: PackageIndex) -> None:
    router = LLMRouter(environ={}, index=index, offline_latency=0.01)
    router.set_rate_limit(max_concurrent=2)
    requests = [
        {"messages": [{"role": "user", "content": f"Install {p}"}]}
        for p in ("nginx", "redis", "nodejs")
    ]
    first = asyncio.run(router.complete_batch(requests))
    second = asyncio.run(router.complete_batch(requests, max_concurrent=1))  # a new loop
    assert [r.content for r in first] == [r.content for r in second]
    assert first[1].content.endswith("apt-get install -y redis")
    packages = asyncio.run(query_multiple_packages(router, ["nginx", "postgres"]))
    assert packages["postgres"].content.endswith("apt-get install -y postgresql")
    diagnoses = asyncio.run(diagnose_errors_parallel(router, ["E: dpkg was interrupted"]))
    assert len(diagnoses) == 1
    hardware = asyncio.run(check_hardware_configs_parallel(router, ["gpu", "wifi"], {"gpu": "x"}))
    assert set(hardware) == {"gpu", "wifi"}
    assert router.get_stats()["total_requests"] == 6 + 2 + 1 + 2


# -- real providers against a stub server on 127.0.0.1 -------------------------------------


class _Stub(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str], dict[str, Any]]]
    status = 200
    usage: Any = None  # replaces the usage block of the answer when set

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path.endswith("/chat/completions"):
            answer: dict[str, Any] = {
                "model": body["model"],
                "choices": [
                    {"message": {"role": "assistant", "content": "apt-get install -y nginx"}}
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
            }
        else:
            answer = {
                "model": body["model"],
                "content": [{"type": "text", "text": "apt-get install -y redis"}],
                "usage": {"input_tokens": 30, "output_tokens": 10},
            }
        if type(self).usage is not None:
            answer["usage"] = type(self).usage
        payload = json.dumps(answer).encode() if self.status == 200 else b"overloaded"
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def stub() -> Iterator[tuple[str, type[_Stub]]]:
    handler = type("Handler", (_Stub,), {"seen": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_openai_compatible_provider_speaks_chat_completions(
    stub: tuple[str, type[_Stub]],
) -> None:
    url, handler = stub
    router = LLMRouter(environ={"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "sk-test"})
    assert list(router.providers) == [LLMProvider.OPENAI]
    response = router.complete(
        [{"role": "system", "content": "be brief"}, *USER], temperature=0.1, max_tokens=50
    )
    assert response.content == "apt-get install -y nginx"
    assert response.tokens_used == 20
    assert response.cost_usd > 0
    path, headers, body = handler.seen[0]
    assert path == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-test"
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert (body["temperature"], body["max_tokens"]) == (0.1, 50)
    assert asyncio.run(router.acomplete(USER)).content == "apt-get install -y nginx"
    assert router.get_stats()["providers"]["openai"]["tokens"] == 40


def test_anthropic_provider_speaks_messages(stub: tuple[str, type[_Stub]]) -> None:
    url, handler = stub
    router = LLMRouter(environ={"ANTHROPIC_BASE_URL": url}, claude_api_key="key-1")
    assert list(router.providers) == [LLMProvider.CLAUDE]
    response = router.complete([{"role": "system", "content": "be brief"}, *USER])
    assert response.content == "apt-get install -y redis"
    assert response.tokens_used == 40
    path, headers, body = handler.seen[0]
    assert path == "/v1/messages"
    assert headers["x-api-key"] == "key-1"
    assert body["system"] == "be brief"
    assert body["messages"] == USER


def test_http_errors_become_one_clear_error(stub: tuple[str, type[_Stub]]) -> None:
    url, handler = stub
    handler.status = 503
    router = LLMRouter(environ={"OPENAI_BASE_URL": url})
    with pytest.raises(AllProvidersFailedError, match="HTTP 503"):
        router.complete(USER)
    unreachable = OpenAICompatibleProvider("http://127.0.0.1:9", "m")
    with pytest.raises(ProviderError, match="cannot reach"):
        unreachable.complete(USER, 0.7, 10)
    with pytest.raises(ProviderError, match="http"):
        OpenAICompatibleProvider("file:///etc", "m").complete(USER, 0.7, 10)
    with pytest.raises(ProviderError, match="cannot reach"):
        AnthropicProvider("k", base_url="http://127.0.0.1:9").complete(USER, 0.7, 10)


@pytest.mark.thread_unsafe(reason="sets the answer of one loopback server all threads share")
@pytest.mark.parametrize(
    "usage",
    [{"prompt_tokens": None}, {"completion_tokens": "many"}, {"total_tokens": -1}, [1, 2]],
)
def test_a_malformed_usage_block_is_a_provider_error_and_falls_back(
    stub: tuple[str, type[_Stub]], index: PackageIndex, usage: Any
) -> None:
    url, handler = stub
    handler.usage = usage
    http = OpenAICompatibleProvider(f"{url}/v1", "m")
    with pytest.raises(ProviderError, match="usage"):
        http.complete(USER, 0.7, 10)
    router = LLMRouter(
        providers={LLMProvider.OPENAI: http, LLMProvider.OFFLINE: OfflineProvider(index, 0.0)},
        default_provider=LLMProvider.OPENAI,
    )
    response = router.complete(USER)
    assert response.provider is LLMProvider.OFFLINE
    stats = router.get_stats()
    assert stats["providers"]["openai"]["failures"] == 1
    assert (stats["fallbacks"], stats["total_requests"]) == (1, 1)
    handler.usage = {"input_tokens": None}
    claude = AnthropicProvider("k", base_url=url)
    with pytest.raises(ProviderError, match="usage"):
        claude.complete(USER, 0.7, 10)


def test_environment_variables_choose_the_providers() -> None:
    found = providers_from_environment(
        {"MOONSHOT_API_KEY": "m", "OLLAMA_HOST": "127.0.0.1:11434", "ANTHROPIC_API_KEY": "a"}
    )
    assert set(found) == {LLMProvider.KIMI_K2, LLMProvider.OLLAMA, LLMProvider.CLAUDE}
    ollama = found[LLMProvider.OLLAMA]
    assert isinstance(ollama, OpenAICompatibleProvider)
    assert ollama.base_url == "http://127.0.0.1:11434/v1"
    assert providers_from_environment({}) == {}
