"""The race catalogue (and so the guide's audit table) agrees with the repository."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from cortex.race_catalog import RACES, RaceEntry

ROOT = Path(__file__).resolve().parent.parent


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


@pytest.mark.parametrize("entry", RACES, ids=lambda e: f"{e.module}:{e.race[:30]}")
def test_entry_points_at_things_that_exist(entry: RaceEntry) -> None:
    importlib.import_module(entry.module)
    twin_module, _, twin_name = entry.twin.rpartition(".")
    assert hasattr(importlib.import_module(twin_module), twin_name), entry.twin
    for node_id in entry.tests:
        file_part, _, function = node_id.partition("::")
        path = ROOT / file_part
        assert path.is_file(), node_id
        assert function in _test_functions(path), node_id
    assert (ROOT / "notebooks" / f"{entry.notebook}.ipynb").is_file()
    assert (ROOT / "docs" / "guide" / f"{entry.guide_page}.md").is_file()
    assert entry.severity in {"critical", "high", "medium"}


def test_every_guide_race_page_is_in_the_catalogue() -> None:
    # Pages that are not about one race: the index, the audit tool, upstream differences,
    # the tools that find races.
    not_races = {"index", "audit", "differences", "finding-races"}
    pages = {p.stem for p in (ROOT / "docs" / "guide").glob("*.md")} - not_races
    assert pages <= {e.guide_page for e in RACES} | {"design", "phases"}
