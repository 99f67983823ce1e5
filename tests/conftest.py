"""Shared fixtures: every test starts with fresh singletons and a clean CORTEX_* environment."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from cortex.runtime import SETTINGS
from cortex.utils.thread_utils import reset_singletons


@pytest.fixture(autouse=True)
def _fresh_singletons() -> Iterator[None]:
    reset_singletons()
    yield
    reset_singletons()


@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for spec in SETTINGS:
        monkeypatch.delenv(spec.env_var, raising=False)


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    """Make the GIL switch threads every microsecond so bytecode-level races surface."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
