"""The dependency-readiness table, drawn from the committed result of ``tools/readiness.py``.

On ``builder-inited`` this writes ``docs/_generated/readiness.md`` (ignored by git) from
``docs/_data/readiness-cp314t.json``, which ``docs/readiness.md`` includes. The JSON is
committed (``make readiness`` refreshes it where the network is reachable), so the guide
builds offline. Nothing is typed in.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "docs" / "_data" / "readiness-cp314t.json"
OUT = ROOT / "docs" / "_generated" / "readiness.md"


def wheel_tags(wheel: str) -> str:
    """``numpy-2.5.5-cp314-cp314t-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl`` ->
    ``cp314-cp314t-manylinux_2_27_x86_64``: the tags, first platform only (short lines)."""
    parts = wheel.removesuffix(".whl").split("-")
    if len(parts) < 5:
        return wheel
    return f"{parts[-3]}-{parts[-2]}-{parts[-1].split('.')[0]}"


def render(data: dict[str, Any]) -> str:
    """The summary and one table row per package, not-ready packages first."""
    target = data["target"]
    packages = data["packages"]
    kinds = Counter(p["kind"] for p in packages)
    missing = data.get("missing", [])
    lines = [
        f"Resolved on {data['resolved_at'].replace('T', ' ').replace('+00:00', ' UTC')} "
        f"with pip {data['pip_version']}, for CPython {target['python_version']} "
        f"(`--abi {target['abi']}`), manylinux x86_64 (`{target['platforms'][0]}` and older "
        f"tags), binary wheels only, from {len(data['requirements'])} requirements in "
        "`pyproject.toml` (runtime and every dependency group).",
        "",
        f"**{len(packages)} packages**: "
        + ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
        + ". "
        + (
            f"**Not ready: {', '.join(missing)}.**"
            if missing
            else "Every package has a free-threaded or pure-Python wheel."
        ),
        "",
    ]
    if data.get("error"):
        lines += [f"The whole set did not resolve: `{data['error']}`", ""]
    lines += ["| Package | Version | Wheel kind | Wheel tags |", "|---|---|---|---|"]
    ordered = sorted(packages, key=lambda p: (p["name"] not in missing, p["name"].lower()))
    for package in ordered:
        lines.append(
            f"| {package['name']} | {package['version']} | {package['kind']} | "
            f"`{wheel_tags(package['wheel'])}` |"
        )
    return "\n".join(lines) + "\n"


def generate(_app: Sphinx | None = None) -> None:
    """Write ``docs/_generated/readiness.md`` from the committed JSON."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(SOURCE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        text = f"The readiness result `{SOURCE.relative_to(ROOT)}` cannot be read ({exc}).\n"
    else:
        text = render(data)
    OUT.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
