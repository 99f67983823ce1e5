"""The suite does not depend on the developer's environment, hour or home directory.

``tests/conftest.py`` removes every provider variable the router reads and every ``CORTEX_*``
setting, and gives the session a private home. These tests check that it did, and that the
list of provider variables it removes is the list the router actually reads, so a provider
added later cannot leak a real key into the tests.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import cortex
from cortex.llm_router import PROVIDER_ENVIRONMENT
from cortex.runtime import SETTINGS

PACKAGE = Path(cortex.__file__).resolve().parent
# env.get("NAME"...), environ.get("NAME"...), os.environ["NAME"], os.getenv("NAME")
_ENV_READ = re.compile(r"""(?:env(?:iron)?\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
_PROVIDER_PREFIXES = ("ANTHROPIC_", "OPENAI_", "MOONSHOT_", "OLLAMA_", "KIMI_")


def test_no_provider_or_cortex_variable_reaches_the_tests() -> None:
    leaked = [name for name in PROVIDER_ENVIRONMENT if name in os.environ]
    leaked += [
        spec.env_var
        for spec in SETTINGS
        if spec.env_var in os.environ and spec.env_var != "CORTEX_DATA_DIR"
    ]
    assert leaked == []


def test_every_store_lives_in_the_session_data_directory() -> None:
    """conftest.py sets ``CORTEX_DATA_DIR`` itself, inside the session's private home."""
    data_dir = Path(os.environ["CORTEX_DATA_DIR"])
    assert data_dir.is_relative_to(os.environ["HOME"])


def test_every_provider_variable_read_by_the_package_is_listed() -> None:
    read = {
        name
        for path in PACKAGE.rglob("*.py")
        for name in _ENV_READ.findall(path.read_text(encoding="utf-8"))
        if name.startswith(_PROVIDER_PREFIXES)
    }
    assert read, "the pattern no longer matches how the router reads its variables"
    assert read <= set(PROVIDER_ENVIRONMENT), sorted(read - set(PROVIDER_ENVIRONMENT))


def test_the_session_home_is_private() -> None:
    home = Path(os.environ["HOME"])
    assert home.name.startswith("cortex-test-home-")
