"""Which installed extension modules turn the GIL back on when a free-threaded build imports them.

On a free-threaded build, importing a C extension that has not declared free-threading
support (``Py_mod_gil``, ``PyUnstable_Module_SetGIL``, Cython's ``freethreading_compatible``,
PyO3's ``gil_used = false``, pybind11's ``py::mod_gil_not_used()``) switches the GIL on for
the whole process, with a ``RuntimeWarning`` that names only the first such module. The GIL
stays on once enabled, so each distribution is checked in a fresh interpreter: its
extension modules are imported one by one until one turns the GIL on.

``cortex doctor`` runs this for Cortex's runtime dependencies (``--all-extensions``: for
every distribution installed beside it). On a GIL build nothing is imported: every
extension runs under the GIL there, and the report only counts them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from importlib.machinery import EXTENSION_SUFFIXES

__all__ = [
    "DistributionCheck",
    "check_distributions",
    "extension_modules",
    "runtime_dependency_closure",
]

PROJECT = "cortex-freethreading"

# Run in a fresh interpreter: import the modules given as JSON on stdin, in order, and
# report the first that switched the GIL on (or that every import left it off).
_PROBE = """
import importlib, json, sys, warnings
modules = json.load(sys.stdin)
result = {"enabled_by": None, "failed": {}, "checked": 0}
warnings.simplefilter("ignore")
for name in modules:
    try:
        importlib.import_module(name)
    except BaseException as exc:  # a broken extension must not hide the others
        result["failed"][name] = f"{type(exc).__name__}: {exc}"[:200]
        continue
    result["checked"] += 1
    if sys._is_gil_enabled():
        result["enabled_by"] = name
        break
print(json.dumps(result))
"""


@dataclass(frozen=True)
class DistributionCheck:
    """What importing one distribution's extension modules did to the GIL."""

    distribution: str
    modules: tuple[str, ...]
    """Its extension modules as dotted names, in the order they were imported."""
    enabled_by: str | None = None
    """The first module whose import turned the GIL on, if any."""
    failed: tuple[tuple[str, str], ...] = ()
    """A ``(module, error)`` pair for each module that could not be imported on its own."""
    checked: bool = False
    """Whether anything was imported (never on a GIL build, where the GIL is always on)."""

    @property
    def keeps_gil_off(self) -> bool | None:
        """Whether the GIL stayed off, once checked, or ``None`` when nothing was imported."""
        return (self.enabled_by is None) if self.checked else None


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_name(path: str) -> str | None:
    """``yaml/_yaml.cpython-314t-x86_64-linux-gnu.so`` -> ``yaml._yaml``."""
    for suffix in sorted(EXTENSION_SUFFIXES, key=len, reverse=True):
        if path.endswith(suffix):
            stem = path[: -len(suffix)]
            parts = stem.replace("\\", "/").split("/")
            if all(part.isidentifier() for part in parts):
                return ".".join(parts)
            return None  # under a data or .libs folder: not importable by name
    return None


def extension_modules(distribution: metadata.Distribution) -> tuple[str, ...]:
    """The importable extension modules a distribution installed, sorted."""
    names = {
        name
        for file in distribution.files or ()
        if (name := _module_name(str(file))) is not None
        and not str(file).startswith(("..", "/"))
        and ".dist-info" not in str(file)
    }
    return tuple(sorted(names))


def runtime_dependency_closure(project: str = PROJECT) -> list[metadata.Distribution]:
    """``project``'s installed distribution and every runtime dependency, recursively.

    Requirements guarded by an extra or an environment marker that does not hold here are
    left out; requirements that are not installed are skipped.
    """
    seen: dict[str, metadata.Distribution] = {}
    pending = [project]
    marker_env: dict[str, str] = {"extra": ""}
    while pending:
        name = _normalise(pending.pop())
        if name in seen:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = distribution
        for requirement in distribution.requires or ():
            pending.extend(_requirement_names([requirement], marker_env))
    return list(seen.values())


def _requirement_names(requirements: Iterable[str], marker_env: dict[str, str]) -> list[str]:
    names = []
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        if marker and not _marker_holds(marker.strip(), marker_env):
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if match:
            names.append(match.group(1))
    return names


def _marker_holds(marker: str, environment: dict[str, str]) -> bool:
    """Evaluate a PEP 508 marker with ``packaging`` when it is there; else keep non-extras."""
    try:
        from packaging.markers import Marker  # noqa: PLC0415 - optional
    except ImportError:  # pragma: no cover - packaging ships with pip's environments
        return "extra" not in marker
    return bool(Marker(marker).evaluate(environment))


def all_distributions() -> list[metadata.Distribution]:
    """Every distribution installed where this interpreter looks, one per name."""
    unique: dict[str, metadata.Distribution] = {}
    for distribution in metadata.distributions():
        unique.setdefault(_normalise(distribution.metadata["Name"] or ""), distribution)
    return [unique[name] for name in sorted(unique) if name]


Runner = Callable[[list[str]], dict[str, object]]


def _probe_in_fresh_interpreter(modules: list[str]) -> dict[str, object]:
    # PYTHON_GIL would override what the imports do: the check runs without it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        input=json.dumps(modules),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"enabled_by": None, "failed": {"(interpreter)": tail[:200]}, "checked": 0}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def check_distributions(
    distributions: Iterable[metadata.Distribution],
    *,
    free_threaded: bool | None = None,
    runner: Runner = _probe_in_fresh_interpreter,
) -> list[DistributionCheck]:
    """Check each distribution that ships extension modules.

    Args:
        distributions: what to check (see :func:`runtime_dependency_closure`).
        free_threaded: whether to import at all; default: this interpreter is a
            free-threaded build.
        runner: imports a list of modules in a fresh interpreter and returns
            ``{"enabled_by": ..., "failed": {...}, "checked": n}`` (tests replace it).
    """
    if free_threaded is None:
        free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    checks = []
    for distribution in distributions:
        modules = extension_modules(distribution)
        if not modules:
            continue
        name = distribution.metadata["Name"] or "?"
        if not free_threaded:
            checks.append(DistributionCheck(name, modules))
            continue
        result = runner(list(modules))
        failed = result.get("failed") or {}
        assert isinstance(failed, dict)
        enabled_by = result.get("enabled_by")
        checks.append(
            DistributionCheck(
                name,
                modules,
                enabled_by=enabled_by if isinstance(enabled_by, str) else None,
                failed=tuple(sorted((str(k), str(v)) for k, v in failed.items())),
                checked=True,
            )
        )
    return checks
