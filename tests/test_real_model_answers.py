"""``cortex install`` end to end against an OpenAI-compatible server on 127.0.0.1.

What a user with a local model server sees (``OPENAI_BASE_URL=http://127.0.0.1:PORT/v1``):
the model answers like chat models do (a sentence and a fenced block, or upstream's JSON),
every line is read, nothing is rejected, and the plan is a dry run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cortex import cli
from cortex.demos.model_server import AnswerStyle, LoopbackModelServer, running_server
from cortex.dependency_resolver import PackageIndex, generate_index_text, parse_packages
from cortex.install_plan import plan_install
from cortex.llm_router import PROVIDER_ENVIRONMENT, LLMRouter
from cortex.parallel_llm import ParallelLLMExecutor
from cortex.runtime import load_settings

PACKAGES = ["nginx", "redis", "postgresql", "docker", "nodejs"]


@pytest.fixture(scope="module")
def index_text() -> str:
    return generate_index_text(300)


@pytest.fixture(scope="module")
def index(index_text: str) -> PackageIndex:
    return parse_packages(index_text, source="test fixture")


@pytest.fixture
def server(request: pytest.FixtureRequest, index: PackageIndex) -> Iterator[LoopbackModelServer]:
    style: AnswerStyle = getattr(request, "param", "fenced")
    with running_server(index, latency=0.3, style=style) as running:
        yield running


@pytest.fixture
def only_the_loopback_server(
    server: LoopbackModelServer, monkeypatch: pytest.MonkeyPatch
) -> LoopbackModelServer:
    """The environment names the loopback server and no other provider (no real key)."""
    for name in PROVIDER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_MODEL", "local-model")
    return server


@pytest.mark.thread_unsafe(reason="counts the requests of one loopback server and patches cli")
@pytest.mark.parametrize("server", ["fenced", "json", "plain"], indirect=True)
def test_cortex_install_plans_five_packages_from_a_chat_model_with_nothing_rejected(
    only_the_loopback_server: LoopbackModelServer,
    index_text: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_file = tmp_path / "Packages"
    index_file.write_text(index_text, encoding="utf-8")
    ran: list[tuple[str, ...]] = []

    def fake_run(argv: list[str]) -> int:
        ran.append(tuple(argv))
        return 0

    monkeypatch.setattr(cli, "_run_command", fake_run)
    status = cli.main(["install", *PACKAGES, "--index", str(index_file), "--no-cache"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "rejected" not in out
    assert "[5/5]" in out
    for package in ["nginx", "redis", "postgresql", "docker.io", "nodejs"]:
        assert re.search(rf"\$ apt install -y {re.escape(package)}\b", out), out
    assert "dry run: nothing was executed" in out
    assert ran == []
    assert only_the_loopback_server.requests == 5


@pytest.mark.thread_unsafe(reason="measures the peak of requests in flight at one server")
def test_five_packages_at_the_default_rate_limit_are_in_flight_together(
    server: LoopbackModelServer, index: PackageIndex
) -> None:
    # Defaults: CORTEX_RATE_LIMIT_RPS=5 and CORTEX_THREAD_POOL_SIZE=20. A limiter that
    # spaced starts 0.2 s apart kept at most 2 of these 0.3 s requests in flight.
    settings = load_settings({})
    router = LLMRouter(environ={"OPENAI_BASE_URL": server.base_url})
    for engine in ("threads", "asyncio"):
        server.reset_counts()
        executor = ParallelLLMExecutor(router, engine=engine, settings=settings)
        plan = plan_install(PACKAGES, router=router, executor=executor, index=index)
        assert not plan.errors
        assert all(not p.rejected and p.argv for p in plan.packages)
        assert server.peak_in_flight == 5, engine
