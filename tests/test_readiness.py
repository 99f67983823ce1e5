"""The committed dependency-readiness result covers pyproject.toml, and renders offline."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.modules import load_module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def readiness() -> ModuleType:
    return load_module(ROOT / "tools" / "readiness.py", "cortex_tools_readiness")


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ROOT / "docs" / "_data" / "readiness-cp314t.json").read_text(encoding="utf-8")
    )
    return data


@pytest.mark.parametrize(
    ("wheel", "kind"),
    [
        (
            "numpy-2.5.5-cp314-cp314t-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "free-threaded",
        ),
        ("cycler-0.12.1-py3-none-any.whl", "pure Python"),
        ("tzdata-2026.6-py2.py3-none-any.whl", "pure Python"),
        (
            "ruff-0.17.6-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "no ABI (a program or a ctypes library)",
        ),
        ("cryptography-46.0.0-cp311-abi3-manylinux_2_28_x86_64.whl", "other (abi3)"),
        ("pyyaml-6.0.4-cp314-cp314-manylinux_2_28_x86_64.whl", "other (cp314)"),
    ],
)
def test_wheel_kinds(readiness: ModuleType, wheel: str, kind: str) -> None:
    assert readiness.classify(wheel) == kind


def test_committed_result_covers_every_requirement(
    readiness: ModuleType, committed: dict[str, Any]
) -> None:
    """Change pyproject.toml's requirements and this fails until `make readiness` is run."""
    assert committed["requirements"] == readiness.project_requirements()


def test_committed_result_lists_ready_packages_or_names_the_missing(
    readiness: ModuleType, committed: dict[str, Any]
) -> None:
    packages = committed["packages"]
    assert isinstance(packages, list)
    assert packages
    not_ready = sorted(p["name"] for p in packages if p["kind"] not in readiness.READY)
    assert sorted(committed["missing"]) == not_ready
    names = {p["name"].lower() for p in packages}
    assert {"pyyaml", "filelock", "rich", "concurrent-log-handler"} <= names


def test_page_renders_from_the_committed_result(committed: dict[str, Any]) -> None:
    extension = load_module(ROOT / "docs" / "_ext" / "cortex_readiness.py", "cortex_readiness_ext")
    text = extension.render(committed)
    packages = committed["packages"]
    assert isinstance(packages, list)
    assert f"**{len(packages)} packages**" in text
    assert text.count("\n| ") == len(packages) + 1  # header + one row per package


def test_a_package_without_a_wheel_is_named(
    readiness: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole set fails for cp314t; each package of the GIL resolution is tried alone."""
    gil_set = [
        {"name": "pure", "version": "1", "wheel": "pure-1-py3-none-any.whl"},
        {
            "name": "ready",
            "version": "2",
            "wheel": "ready-2-cp314-cp314t-manylinux_2_28_x86_64.whl",
        },
        {"name": "stuck", "version": "3", "wheel": "stuck-3-cp314-cp314-manylinux_2_28_x86_64.whl"},
    ]

    def fake_pip(
        requirements: list[str], abi: str, report: Path, *, deps: bool = True
    ) -> str | None:
        if abi == "cp314":
            install = gil_set
        elif deps:
            return "ERROR: No matching distribution found for stuck"
        else:
            [name] = requirements
            if name == "stuck":
                return "ERROR: No matching distribution found for stuck"
            install = [p for p in gil_set if p["name"] == name]
        items = [
            {
                "metadata": {"name": p["name"], "version": p["version"]},
                "download_info": {"url": f"https://files.example/{p['wheel']}"},
            }
            for p in install
        ]
        report.write_text(json.dumps({"install": items}), encoding="utf-8")
        return None

    monkeypatch.setattr(readiness, "_pip", fake_pip)
    result = readiness.resolve(["top"])
    assert result["resolved"] is False
    assert "stuck" in result["error"]
    kinds = {p["name"]: p["kind"] for p in result["packages"]}
    assert kinds == {
        "pure": "pure Python",
        "ready": "free-threaded",
        "stuck": "no free-threaded or pure-Python wheel",
    }
