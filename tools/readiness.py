#!/usr/bin/env python3
"""Can this project's whole dependency set be installed on free-threaded CPython 3.14?

Usage (``make readiness`` runs it in the project's environment)::

    python tools/readiness.py [--output docs/_data/readiness-cp314t.json]

It asks pip to resolve every requirement of ``pyproject.toml`` (the runtime dependencies
and every dependency group) for CPython 3.14 free-threaded (``--abi cp314t``) on manylinux
x86_64 (glibc 2.28 and older tags), binary wheels only, without installing anything
(``pip install --dry-run --report``). Pure-Python wheels (``none-any``) are accepted as
they are; an ``abi3`` wheel is not, because the free-threaded build has no stable ABI
before 3.15. If the whole set does not resolve, each package of the GIL build's
resolution is tried on its own, and every package with no free-threaded or pure-Python
wheel is listed.

The result is committed (the guide's build must not need the network) and rendered into
the guide's readiness page by ``docs/_ext/cortex_readiness.py``. Needs network access to
the package index; only the standard library and pip are used.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "_data" / "readiness-cp314t.json"
PYTHON_VERSION = "3.14"
ABI = "cp314t"
GLIBC_MINOR = 28  # manylinux_2_28: what current distributions (and GitHub's runners) exceed
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MINOR, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415
    else:  # 3.10: pip vendors the same parser
        from pip._vendor import tomli as tomllib  # noqa: PLC0415
    with path.open("rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    return data


def project_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The runtime dependencies and every dependency group's requirements, deduplicated."""
    data = _load_toml(pyproject)
    requirements: list[str] = list(data["project"].get("dependencies", []))
    for group in data.get("dependency-groups", {}).values():
        requirements += [item for item in group if isinstance(item, str)]  # skip includes
    return list(dict.fromkeys(requirements))


def classify(filename: str) -> str:
    """What kind of wheel a file name is: ``free-threaded``, ``pure Python``, ``no ABI``."""
    stem = filename[: -len(".whl")] if filename.endswith(".whl") else filename
    parts = stem.split("-")
    if len(parts) < 5:
        return "not a wheel"
    abi, platform = parts[-2], parts[-1]
    if abi == "none" and platform == "any":
        return "pure Python"
    if ABI in abi.split("."):
        return "free-threaded"
    if abi == "none":
        return "no ABI (a program or a ctypes library)"
    return f"other ({abi})"


def _pip(requirements: list[str], abi: str, report: Path, *, deps: bool = True) -> str | None:
    """Resolve for the target; ``None`` on success, else pip's last error line."""
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    argv += ["--quiet", "--report", str(report), "--only-binary", ":all:"]
    argv += ["--python-version", PYTHON_VERSION, "--implementation", "cp", "--abi", abi]
    for platform in PLATFORMS:
        argv += ["--platform", platform]
    if not deps:
        argv.append("--no-deps")
    done = subprocess.run(
        [*argv, *requirements], capture_output=True, text=True, check=False, timeout=900
    )
    if done.returncode == 0:
        return None
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    return (errors or done.stderr.strip().splitlines() or ["pip failed"])[-1]


def _packages(report: Path) -> list[dict[str, str]]:
    data = json.loads(report.read_text(encoding="utf-8"))
    packages = []
    for item in data.get("install", []):
        wheel = item["download_info"]["url"].rsplit("/", 1)[-1]
        packages.append(
            {
                "name": item["metadata"]["name"],
                "version": item["metadata"]["version"],
                "wheel": wheel,
                "kind": classify(wheel),
            }
        )
    return sorted(packages, key=lambda p: p["name"].lower())


def resolve(requirements: list[str]) -> dict[str, Any]:
    """The readiness result for ``requirements`` (see the module docstring)."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        error = _pip(requirements, ABI, report)
        if error is None:
            return {"resolved": True, "error": None, "packages": _packages(report)}
        # Find the culprits: every package of the GIL build's resolution, one by one.
        gil_report = Path(scratch) / "gil.json"
        gil_error = _pip(requirements, "cp314", gil_report)
        if gil_error is not None:
            return {"resolved": False, "error": error, "packages": []}
        packages = []
        for package in _packages(gil_report):
            single = Path(scratch) / f"{package['name']}.json"
            if _pip([package["name"]], ABI, single, deps=False) is None:
                packages += _packages(single)
            else:
                packages.append({**package, "kind": "no free-threaded or pure-Python wheel"})
        return {"resolved": False, "error": error, "packages": packages}


READY = ("free-threaded", "pure Python", "no ABI (a program or a ctypes library)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    requirements = project_requirements()
    pip_version = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    print(f"resolving {len(requirements)} requirements for {ABI} on manylinux x86_64 ...")
    result = resolve(requirements)
    missing = [p for p in result["packages"] if p["kind"] not in READY]
    document = {
        "target": {
            "python_version": PYTHON_VERSION,
            "abi": ABI,
            "platforms": PLATFORMS,
            "only_binary": True,
        },
        "resolved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pip_version": pip_version,
        "requirements": requirements,
        **result,
        "missing": [p["name"] for p in missing],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    kinds: dict[str, int] = {}
    for package in result["packages"]:
        kinds[package["kind"]] = kinds.get(package["kind"], 0) + 1
    print(f"{len(result['packages'])} packages: " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    if result["error"]:
        print(f"the whole set did not resolve: {result['error']}")
    for package in missing:
        print(f"NOT READY: {package['name']} {package['version']} ({package['kind']})")
    print(f"written to {args.output}")
    return 1 if missing or not result["packages"] else 0


if __name__ == "__main__":
    sys.exit(main())
