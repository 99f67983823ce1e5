"""The doctor's extension check: which distributions' extension modules turn the GIL on."""

from __future__ import annotations

import sys
import sysconfig
from importlib import metadata

import pytest

from cortex import extension_check
from cortex.extension_check import (
    check_distributions,
    extension_modules,
    runtime_dependency_closure,
)

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def test_closure_contains_the_runtime_dependencies() -> None:
    names = {d.metadata["Name"].lower() for d in runtime_dependency_closure()}
    assert {"cortex-freethreading", "filelock", "pyyaml", "rich"} <= names
    assert "pytest" not in names  # a dependency group, not a runtime requirement


def test_pyyaml_ships_its_extension_module() -> None:
    modules = extension_modules(metadata.distribution("PyYAML"))
    if not modules:
        pytest.skip("this PyYAML was installed without its C extension")
    assert "yaml._yaml" in modules


def test_gil_build_imports_nothing() -> None:
    def refuse(_modules: list[str]) -> dict[str, object]:
        raise AssertionError("a GIL build must not import anything")

    checks = check_distributions(
        [metadata.distribution("PyYAML")], free_threaded=False, runner=refuse
    )
    assert all(check.keeps_gil_off is None for check in checks)


def test_report_names_the_module_that_turned_the_gil_on() -> None:
    def fake(modules: list[str]) -> dict[str, object]:
        return {"enabled_by": modules[0], "failed": {"x.y": "ImportError: no"}, "checked": 1}

    [check] = check_distributions(
        [metadata.distribution("PyYAML")], free_threaded=True, runner=fake
    )
    if not check.modules:
        pytest.skip("this PyYAML was installed without its C extension")
    assert check.keeps_gil_off is False
    assert check.enabled_by == check.modules[0]
    assert check.failed == (("x.y", "ImportError: no"),)


@pytest.mark.skipif(sys.version_info < (3, 13), reason="sys._is_gil_enabled() is 3.13+")
def test_the_probe_runs_in_a_fresh_interpreter() -> None:
    """The real probe: on a GIL build the GIL is on, so the first import 'turned it on'."""
    result = extension_check._probe_in_fresh_interpreter(["_json", "_csv"])
    assert result["failed"] == {}
    if FREE_THREADED:
        assert result["enabled_by"] is None  # stdlib extensions declare free-threading support
        assert result["checked"] == 2
    else:
        assert result["enabled_by"] == "_json"


@pytest.mark.thread_unsafe(reason="reads capsys")
def test_doctor_prints_the_extension_section(capsys: pytest.CaptureFixture[str]) -> None:
    from cortex.cli import _print_extensions

    _print_extensions(all_installed=False)
    out = capsys.readouterr().out
    assert "Extension modules (Cortex's runtime dependencies)" in out
    if not FREE_THREADED:
        assert "TURNED THE GIL ON" not in out
