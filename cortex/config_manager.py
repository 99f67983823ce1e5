"""Preferences and system-configuration export, import and diff.

A drop-in for upstream Cortex's ``cortex.config_manager`` (same public names, parameters and
defaults). What differs:

* **Every read-modify-write holds the cross-process lock** of its path
  (:func:`cortex.utils.file_lock.path_lock`) and **writes atomically**
  (:mod:`cortex.utils.locked_file`). Upstream locked only the preferences, per instance, and
  wrote every file in place, so two managers or two processes lost updates and a crash left
  a torn file.
* A malformed YAML file raises :class:`~cortex.utils.locked_file.CorruptFileError` naming
  the file and the line, and is never overwritten.
* ``~/.cortex`` is created ``0700``; every file written here is ``0600``.
* Package lists come from small :class:`PackageReader` objects (``dpkg-query``, ``pip``,
  ``npm``; argument lists with timeouts, never a shell) that tests replace.
* :meth:`ConfigManager.import_configuration` **executes nothing** unless the caller passed
  a ``sandbox_executor``; without one, even ``dry_run=False`` only reports the commands. A
  command is an argument list (never a shell string) and a package name that could be read
  as an option is refused.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import platform
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Protocol

from cortex import __version__
from cortex.utils.atomic_file import ensure_private_dir
from cortex.utils.commands import program_output
from cortex.utils.locked_file import read_yaml, update_yaml, write_yaml

__all__ = [
    "AptPackages",
    "CommandExecutor",
    "ConfigManager",
    "NpmPackages",
    "PackageReader",
    "PipPackages",
]

_COMMAND_TIMEOUT_S = 60.0
# A package name that cannot be mistaken for an option or a path trick.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9._+/@-]*$")
_SAFE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+:~_-]*$")


# --------------------------------------------------------------------------------------
# Package readers: small interfaces that tests replace
# --------------------------------------------------------------------------------------


_MISSING = object()  # read_yaml's answer for a missing file or an empty document


class PackageReader(Protocol):
    """Lists the packages one package manager has installed."""

    def list_packages(self) -> list[dict[str, Any]]:
        """Installed packages as ``{"name": ..., "version": ...}`` mappings; ``[]`` if the
        package manager is missing or fails."""
        ...


class CommandExecutor(Protocol):
    """Runs one command for :meth:`ConfigManager.import_configuration`.

    Upstream passes a shell string to its sandbox; this project never builds one, so the
    executor receives an argument list.
    """

    def execute(self, argv: Sequence[str]) -> bool:
        """Run ``argv``; True when it succeeded."""
        ...


# Output of a program, or "" when it is missing, fails or times out. Never a shell. A module
# global, called through the module, so that tests can replace it.
_run_output = functools.partial(program_output, timeout=_COMMAND_TIMEOUT_S)


class AptPackages:
    """Installed Debian packages from ``dpkg-query``."""

    def list_packages(self) -> list[dict[str, Any]]:
        """See :meth:`PackageReader.list_packages`."""
        out = _run_output(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${db:Status-Abbrev}\n"])
        packages = []
        for line in out.splitlines():
            name, _, rest = line.partition("\t")
            version, _, status = rest.partition("\t")
            if name and status.startswith("ii"):
                packages.append({"name": name, "version": version, "source": "apt"})
        return packages


class PipPackages:
    """Installed Python packages from ``pip3 list --format=json``."""

    def list_packages(self) -> list[dict[str, Any]]:
        """See :meth:`PackageReader.list_packages`."""
        try:
            rows = json.loads(_run_output(["pip3", "list", "--format=json"]) or "[]")
        except ValueError:
            return []
        return [
            {"name": str(r["name"]), "version": str(r.get("version", "")), "source": "pip"}
            for r in rows
            if isinstance(r, dict) and "name" in r
        ]


class NpmPackages:
    """Globally installed npm packages from ``npm ls -g --depth=0 --json``."""

    def list_packages(self) -> list[dict[str, Any]]:
        """See :meth:`PackageReader.list_packages`."""
        try:
            tree = json.loads(_run_output(["npm", "ls", "-g", "--depth=0", "--json"]) or "{}")
        except ValueError:
            return []
        dependencies = tree.get("dependencies", {}) if isinstance(tree, dict) else {}
        return [
            {"name": name, "version": str(info.get("version", "")), "source": "npm"}
            for name, info in sorted(dependencies.items())
            if isinstance(info, dict)
        ]


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Orders versions well enough for a diff: numeric runs as numbers, the rest as text."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part)
        for part in re.findall(r"\d+|[A-Za-z]+", version)
    )


# --------------------------------------------------------------------------------------
# The manager
# --------------------------------------------------------------------------------------


class ConfigManager:
    """Preferences (``~/.cortex/preferences.yaml``) and system-configuration export/import.

    Args:
        sandbox_executor: runs install commands during a non-dry-run import. Without it,
            nothing is ever executed.
        config_dir: the Cortex directory (default ``~/.cortex``; created ``0700``).
            Keyword-only and not in upstream's signature.
        readers: package readers by source name (default: apt, pip and npm readers).
        hardware: returns the hardware mapping to export (default: the shared
            :func:`cortex.hardware_detection.detect_hardware`).
    """

    SOURCE_APT: ClassVar[str] = "apt"
    SOURCE_PIP: ClassVar[str] = "pip"
    SOURCE_NPM: ClassVar[str] = "npm"
    DEFAULT_SOURCES: ClassVar[list[str]] = [SOURCE_APT, SOURCE_PIP, SOURCE_NPM]
    PREFERENCES_FILE: ClassVar[str] = "preferences.yaml"
    SECTIONS: ClassVar[tuple[str, ...]] = ("packages", "preferences")
    """What ``selective`` may name in :meth:`import_configuration`."""

    def __init__(
        self,
        sandbox_executor: CommandExecutor | None = None,
        *,
        config_dir: str | os.PathLike[str] | None = None,
        readers: Mapping[str, PackageReader] | None = None,
        hardware: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.sandbox_executor = sandbox_executor
        self.cortex_dir = Path(config_dir) if config_dir is not None else Path.home() / ".cortex"
        """The Cortex directory."""
        self.preferences_file = self.cortex_dir / self.PREFERENCES_FILE
        """The preferences file (YAML)."""
        self.readers: dict[str, PackageReader] = dict(
            readers
            if readers is not None
            else {
                self.SOURCE_APT: AptPackages(),
                self.SOURCE_PIP: PipPackages(),
                self.SOURCE_NPM: NpmPackages(),
            }
        )
        self._hardware = hardware
        ensure_private_dir(self.cortex_dir)

    # ---- preferences -------------------------------------------------------------------

    def load_preferences(self) -> dict[str, Any]:
        """The preferences; ``{}`` when the file is missing or empty.

        Raises:
            CorruptFileError: the file is not a YAML mapping (names the file and line).
        """
        prefs: dict[str, Any] = read_yaml(self.preferences_file, default={})
        return prefs

    def update_preferences(self, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Apply ``fn`` to the preferences under the cross-process lock; write atomically.

        Concurrent updates from any thread, instance or process all land. Returns the
        preferences written.

        Raises:
            CorruptFileError: the current file is malformed; it is left untouched.
        """
        prefs: dict[str, Any] = update_yaml(self.preferences_file, fn)
        return prefs

    def save_preferences(self, preferences: Mapping[str, Any]) -> None:
        """Replace every preference (refuses to overwrite a malformed file)."""
        self.update_preferences(lambda _old: dict(preferences))

    def get_preference(self, key: str, default: Any = None) -> Any:
        """One preference, or ``default``."""
        return self.load_preferences().get(key, default)

    def set_preference(self, key: str, value: Any) -> None:
        """Set one preference, keeping every other (a locked read-modify-write)."""

        def put(prefs: dict[str, Any]) -> dict[str, Any]:
            prefs[key] = value
            return prefs

        self.update_preferences(put)

    # ---- packages ----------------------------------------------------------------------

    def _detect(self, source: str) -> list[dict[str, Any]]:
        reader = self.readers.get(source)
        return reader.list_packages() if reader is not None else []

    def detect_apt_packages(self) -> list[dict[str, Any]]:
        """Installed apt packages (``name``, ``version``, ``source``)."""
        return self._detect(self.SOURCE_APT)

    def detect_pip_packages(self) -> list[dict[str, Any]]:
        """Installed pip packages."""
        return self._detect(self.SOURCE_PIP)

    def detect_npm_packages(self) -> list[dict[str, Any]]:
        """Globally installed npm packages."""
        return self._detect(self.SOURCE_NPM)

    def detect_installed_packages(self, sources: list[str] | None = None) -> list[dict[str, Any]]:
        """Installed packages from ``sources`` (default ``DEFAULT_SOURCES``: apt, pip, npm)."""
        packages: list[dict[str, Any]] = []
        for source in sources if sources is not None else self.DEFAULT_SOURCES:
            packages.extend({**p, "source": source} for p in self._detect(source))
        return packages

    # ---- export ------------------------------------------------------------------------

    def _hardware_dict(self) -> dict[str, Any]:
        if self._hardware is not None:
            return self._hardware()
        from cortex.hardware_detection import detect_hardware  # noqa: PLC0415 - optional

        return detect_hardware().to_dict()

    def export_configuration(
        self,
        output_path: str | os.PathLike[str],
        include_hardware: bool = True,
        include_preferences: bool = True,
        package_sources: list[str] | None = None,
    ) -> str:
        """Write the configuration as YAML to ``output_path``, atomically and locked.

        Returns:
            A one-line message naming the file written.

        Raises:
            CorruptFileError: ``include_preferences`` and the preferences file is malformed.
            OSError: the file could not be written (an existing one is left as it was).
        """
        try:
            release = platform.freedesktop_os_release()
        except OSError:
            release = {}
        config: dict[str, Any] = {
            "cortex_version": __version__,
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "os": release.get("PRETTY_NAME", platform.system()),
            "python_version": platform.python_version(),
            "packages": self.detect_installed_packages(package_sources),
        }
        if include_hardware:
            config["hardware"] = self._hardware_dict()
        if include_preferences:
            config["preferences"] = self.load_preferences()
        target = Path(output_path)
        if not target.parent.exists():
            ensure_private_dir(target.parent)
        write_yaml(target, config)
        return f"Configuration exported to {target}"

    # ---- compatibility, diff, import ---------------------------------------------------

    def validate_compatibility(self, config: dict[str, Any]) -> tuple[bool, str | None]:
        """Whether ``config`` (an export) can be imported here; if not, why not."""
        document: object = config  # it comes from a file: check the type anyway
        if not isinstance(document, dict):
            return False, "configuration is not a mapping"
        version = config.get("cortex_version")
        if not isinstance(version, str) or not version:
            return False, "missing cortex_version"
        if _version_key(version)[:1] > _version_key(__version__)[:1]:
            return False, f"exported by Cortex {version}, newer than this {__version__}"
        packages = config.get("packages", [])
        if not isinstance(packages, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) for p in packages
        ):
            return False, "packages must be a list of mappings with a name"
        if not isinstance(config.get("preferences", {}), dict):
            return False, "preferences must be a mapping"
        return True, None

    def diff_configuration(self, config: dict[str, Any]) -> dict[str, Any]:
        """What importing ``config`` would change on this machine.

        Returns:
            ``packages_to_install``, ``packages_to_upgrade``, ``packages_to_downgrade``,
            ``packages_already_installed`` (lists of package mappings),
            ``preferences_changed`` (``{key: {"current": ..., "new": ...}}``) and
            ``warnings``.
        """
        wanted = [p for p in config.get("packages", []) if isinstance(p, dict)]
        sources = sorted({str(p.get("source", self.SOURCE_APT)) for p in wanted})
        installed = {
            (p["source"], p["name"]): str(p.get("version", ""))
            for p in self.detect_installed_packages(sources)
        }
        diff: dict[str, Any] = {
            "packages_to_install": [],
            "packages_to_upgrade": [],
            "packages_to_downgrade": [],
            "packages_already_installed": [],
            "preferences_changed": {},
            "warnings": [],
        }
        for package in wanted:
            key = (str(package.get("source", self.SOURCE_APT)), str(package.get("name", "")))
            version = str(package.get("version", ""))
            current = installed.get(key)
            if current is None:
                diff["packages_to_install"].append(package)
            elif not version or current == version:
                diff["packages_already_installed"].append(package)
            elif _version_key(version) > _version_key(current):
                diff["packages_to_upgrade"].append({**package, "current_version": current})
            else:
                diff["packages_to_downgrade"].append({**package, "current_version": current})
        current_prefs = self.load_preferences()
        for key, value in (config.get("preferences") or {}).items():
            if current_prefs.get(key) != value:
                diff["preferences_changed"][key] = {"current": current_prefs.get(key), "new": value}
        if diff["packages_to_downgrade"]:
            diff["warnings"].append(
                f"{len(diff['packages_to_downgrade'])} package(s) would be downgraded"
            )
        return diff

    @staticmethod
    def _install_argv(package: Mapping[str, Any]) -> list[str] | None:
        """The install command for one package, or ``None`` if its name or version is unsafe."""
        name = str(package.get("name", ""))
        version = str(package.get("version", "") or "")
        if not _SAFE_NAME.match(name) or (version and not _SAFE_VERSION.match(version)):
            return None
        source = package.get("source", "apt")
        if source == "pip":
            return [
                sys.executable,
                "-m",
                "pip",
                "install",
                f"{name}=={version}" if version else name,
            ]
        if source == "npm":
            return ["npm", "install", "-g", f"{name}@{version}" if version else name]
        if source == "apt":
            return ["apt-get", "install", "-y", f"{name}={version}" if version else name]
        return None

    def import_configuration(
        self,
        config_path: str | os.PathLike[str],
        dry_run: bool = False,
        selective: list[str] | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Apply an exported configuration: packages and preferences.

        Args:
            config_path: a YAML file written by :meth:`export_configuration`.
            dry_run: only report what would change. Even with ``False``, commands run only
                through the ``sandbox_executor`` given to the constructor; without one they
                are reported as ``commands`` and nothing is executed.
            selective: the sections to apply (``"packages"``, ``"preferences"``); all if
                ``None``.
            force: import even if :meth:`validate_compatibility` says no.

        Returns:
            ``success``, ``dry_run``, ``diff``, ``commands`` (argument lists),
            ``installed``, ``failed``, ``skipped`` (packages refused as unsafe or not run),
            ``preferences_updated`` and, on failure, ``error``.

        Raises:
            FileNotFoundError: ``config_path`` does not exist (or is an empty document).
            CorruptFileError: ``config_path`` (or the preferences file) is malformed; the
                message names the file and line; nothing was changed.
        """
        sections = list(self.SECTIONS if selective is None else selective)
        unknown = sorted(set(sections) - set(self.SECTIONS))
        if unknown:
            raise ValueError(f"unknown section(s) {unknown}; expected some of {self.SECTIONS}")
        config = read_yaml(config_path, default=_MISSING)
        if config is _MISSING:  # a missing file is an error (upstream's was too), not "{}"
            raise FileNotFoundError(errno.ENOENT, "no configuration file", str(config_path))
        result: dict[str, Any] = {
            "success": True,
            "dry_run": dry_run,
            "diff": {},
            "commands": [],
            "installed": [],
            "failed": [],
            "skipped": [],
            "preferences_updated": False,
        }
        compatible, reason = self.validate_compatibility(config)
        if not compatible and not force:
            return {**result, "success": False, "error": reason}
        diff = self.diff_configuration(config)
        result["diff"] = diff
        if "packages" in sections:
            pending = (
                diff["packages_to_install"]
                + diff["packages_to_upgrade"]
                + diff["packages_to_downgrade"]
            )
            for package in pending:
                argv = self._install_argv(package)
                if argv is None:
                    result["skipped"].append({**package, "reason": "unsafe name or version"})
                    continue
                result["commands"].append(argv)
                if dry_run:
                    continue
                if self.sandbox_executor is None:
                    result["skipped"].append({**package, "reason": "no sandbox executor"})
                elif self.sandbox_executor.execute(argv):
                    result["installed"].append(package)
                else:
                    result["failed"].append(package)
        new_prefs = config.get("preferences") or {}
        if "preferences" in sections and new_prefs and not dry_run:
            self.update_preferences(lambda prefs: {**prefs, **new_prefs})
            result["preferences_updated"] = True
        result["success"] = not result["failed"]
        return result
