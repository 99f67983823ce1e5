"""The configuration reference and the code name the same settings with the same defaults."""

from __future__ import annotations

import re
from pathlib import Path

from cortex.runtime import SETTINGS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(CORTEX_[A-Z_]+)` \| `([^`]*)` \|", re.MULTILINE)


def _documented() -> dict[str, str]:
    return dict(ROW.findall(PAGE.read_text(encoding="utf-8")))


def _shown(default: object) -> str:
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return "1" if default else "0"
    return str(default)


def test_every_setting_in_code_is_documented_and_vice_versa() -> None:
    assert set(_documented()) == {spec.env_var for spec in SETTINGS}


def test_documented_defaults_match_the_code() -> None:
    documented = _documented()
    for spec in SETTINGS:
        assert documented[spec.env_var] == _shown(spec.default), spec.env_var


def test_every_cortex_variable_mentioned_in_the_docs_exists() -> None:
    known = {spec.env_var for spec in SETTINGS} | {"CORTEX_PYTHON", "CORTEX_BROWSER"}
    docs = Path(__file__).resolve().parent.parent / "docs"
    mentioned = {
        name
        for page in docs.rglob("*.md")
        for name in re.findall(r"\bCORTEX_[A-Z_]+[A-Z]\b", page.read_text(encoding="utf-8"))
    }
    assert mentioned <= known, mentioned - known
