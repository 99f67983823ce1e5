"""The runner of upstream's tests: copies them aside, runs them on our package, counts."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.support.modules import load_module

ROOT = Path(__file__).resolve().parent.parent


def _tool() -> ModuleType:
    return load_module(ROOT / "tools" / "upstream_api_check.py", "upstream_api_check")


def test_it_runs_upstream_style_tests_on_our_package_hermetically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tests = tmp_path / "upstream" / "tests"
    (tests / "unit").mkdir(parents=True)
    (tests / "test_limiter.py").write_text(
        "import asyncio, os\n"
        "from cortex.parallel_llm import RateLimiter\n"
        "def test_tokens_start_full():\n"
        "    limiter = RateLimiter(5.0)\n"
        "    assert (limiter.rate, limiter.tokens) == (5.0, 5.0)\n"
        "    asyncio.run(limiter.acquire())\n"
        "    assert limiter.tokens == 4.0\n"
        "def test_no_provider_key_is_visible():\n"
        "    assert 'ANTHROPIC_API_KEY' not in os.environ\n"
        "def test_a_difference():\n"
        "    assert False\n",
        encoding="utf-8",
    )
    (tests / "unit" / "test_limiter.py").write_text(  # same name, another directory
        "def test_other():\n    pass\n", encoding="utf-8"
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-must-not-leak")
    tool = _tool()
    report = tool.run(tmp_path / "upstream", ["**/test_*.py"], timeout=300)
    assert (report.collected, report.passed) == (4, 3)
    assert [name.rsplit("::", 1)[1] for name in report.failed] == ["test_a_difference"]
    assert not list(tests.parent.glob("**/*.pyc"))  # the checkout is left as it was
    assert tool.main(["--upstream", str(tmp_path / "nowhere")]) == 2
