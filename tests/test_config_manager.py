"""ConfigManager: preferences under the cross-process lock, export/import/diff, bad files."""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

import cortex.config_manager as cm
from cortex.config_manager import ConfigManager
from cortex.demos.files import count_in_processes, count_in_threads, unsafe_write_text
from cortex.demos.harness import run_together
from cortex.utils.locked_file import CorruptFileError


class FakeReader:
    """A package list that tests control."""

    def __init__(self, *packages: tuple[str, str]) -> None:
        self.packages = [{"name": n, "version": v} for n, v in packages]

    def list_packages(self) -> list[dict[str, Any]]:
        return [dict(p) for p in self.packages]


class RecordingExecutor:
    """Records every command instead of running it."""

    def __init__(self, succeed: bool = True) -> None:
        self.commands: list[list[str]] = []
        self.succeed = succeed
        self._lock = threading.Lock()  # guards commands

    def execute(self, argv: Sequence[str]) -> bool:
        with self._lock:
            self.commands.append(list(argv))
        return self.succeed


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def cortex_dir(tmp_path: Path) -> Path:
    return tmp_path / ".cortex"


def _manager(cortex_dir: Path, executor: RecordingExecutor | None = None) -> ConfigManager:
    return ConfigManager(
        executor,
        config_dir=cortex_dir,
        readers={
            "apt": FakeReader(("nginx", "1.22.1"), ("curl", "7.88.1")),
            "pip": FakeReader(("requests", "2.31.0")),
            "npm": FakeReader(),
        },
        hardware=lambda: {"cpu": {"cores": 4}},
    )


# --------------------------------------------------------------------------------------
# preferences
# --------------------------------------------------------------------------------------


def test_directory_0700_and_preferences_0600(cortex_dir: Path) -> None:
    manager = _manager(cortex_dir)
    assert stat.S_IMODE(cortex_dir.stat().st_mode) == 0o700
    manager.set_preference("theme", "dark")
    assert stat.S_IMODE(manager.preferences_file.stat().st_mode) == 0o600
    assert manager.get_preference("theme") == "dark"
    assert manager.get_preference("missing", 3) == 3
    manager.save_preferences({"only": 1})
    assert manager.load_preferences() == {"only": 1}


def test_default_directory_is_home_cortex() -> None:
    assert ConfigManager().cortex_dir == Path.home() / ".cortex"


def test_malformed_yaml_names_file_and_line_and_is_left_untouched(cortex_dir: Path) -> None:
    manager = _manager(cortex_dir)
    bad = b"theme: dark\nlanguages: [python,\nverbose: true\n"
    manager.preferences_file.write_bytes(bad)
    for action in (
        lambda: manager.set_preference("theme", "light"),
        lambda: manager.save_preferences({}),
        manager.load_preferences,
        lambda: manager.export_configuration(cortex_dir / "out.yaml"),
    ):
        with pytest.raises(CorruptFileError) as caught:
            action()
        assert caught.value.path == manager.preferences_file
        assert caught.value.line is not None
        assert f"{manager.preferences_file}, line" in str(caught.value)
    assert manager.preferences_file.read_bytes() == bad
    assert not (cortex_dir / "out.yaml").exists()


def test_non_utf8_and_non_mapping_preferences_are_errors(cortex_dir: Path) -> None:
    manager = _manager(cortex_dir)
    manager.preferences_file.write_bytes(b"theme: \xe9t\xe9\n")
    with pytest.raises(CorruptFileError, match="UTF-8"):
        manager.set_preference("x", 1)
    manager.preferences_file.write_text("just a string\n")
    with pytest.raises(CorruptFileError, match="expected a dict"):
        manager.set_preference("x", 1)
    assert manager.preferences_file.read_text() == "just a string\n"


def test_huge_and_empty_preferences(cortex_dir: Path) -> None:
    manager = _manager(cortex_dir)
    manager.preferences_file.write_text("")
    assert manager.load_preferences() == {}
    manager.save_preferences({f"key{i}": "v" * 1000 for i in range(2_000)})  # ~2 MB
    manager.set_preference("key0", "changed")
    prefs = manager.load_preferences()
    assert len(prefs) == 2_000
    assert prefs["key0"] == "changed"


def test_preferences_updates_from_threads_are_never_lost(cortex_dir: Path) -> None:
    prefs = cortex_dir / "preferences.yaml"
    cortex_dir.mkdir()
    assert count_in_threads("safe-prefs", prefs, threads=8, increments=8) == 64


@pytest.mark.twin
def test_the_same_check_catches_upstreams_per_instance_lock(cortex_dir: Path) -> None:
    prefs = cortex_dir / "preferences.yaml"
    cortex_dir.mkdir()
    assert count_in_threads("unsafe-prefs", prefs, threads=8, increments=8) < 64


def test_preferences_updates_from_processes_are_never_lost(cortex_dir: Path) -> None:
    prefs = cortex_dir / "preferences.yaml"
    cortex_dir.mkdir()
    assert count_in_processes("safe-prefs", prefs, processes=3, increments=12) == 36


@pytest.mark.twin
def test_the_same_check_catches_processes_writing_in_place(cortex_dir: Path) -> None:
    prefs = cortex_dir / "preferences.yaml"
    cortex_dir.mkdir()
    # Enough updates that the processes overlap whatever their start-up skew, even when
    # the machine is busy enough to run one of them alone for a while.
    assert count_in_processes("unsafe-prefs", prefs, processes=3, increments=400) < 1200


# --------------------------------------------------------------------------------------
# export, diff, import
# --------------------------------------------------------------------------------------


def test_export_writes_a_private_yaml_file(cortex_dir: Path, tmp_path: Path) -> None:
    manager = _manager(cortex_dir)
    manager.set_preference("theme", "dark")
    out = tmp_path / "exports" / "system.yaml"
    message = manager.export_configuration(out, package_sources=["apt", "pip"])
    assert str(out) in message
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    config = yaml.safe_load(out.read_text())
    assert {(p["source"], p["name"]) for p in config["packages"]} == {
        ("apt", "nginx"),
        ("apt", "curl"),
        ("pip", "requests"),
    }
    assert config["hardware"] == {"cpu": {"cores": 4}}
    assert config["preferences"] == {"theme": "dark"}
    bare = manager.export_configuration(
        tmp_path / "bare.yaml", include_hardware=False, include_preferences=False
    )
    assert "bare.yaml" in bare
    assert set(yaml.safe_load((tmp_path / "bare.yaml").read_text())) >= {"packages", "os"}


def _torn_yaml_reads(out: Path, write: Callable[[], object], *, writes: int = 8) -> int:
    """Rewrite ``out`` up to ``writes`` times with ``write`` while two threads parse it;
    count bad reads. The writer stops early once a reader has seen a torn file."""
    write()
    done = threading.Event()
    torn = [0]  # only touched by reader threads under torn_lock
    torn_lock = threading.Lock()  # guards torn

    def role(index: int) -> None:
        if index == 0:
            for _ in range(writes):
                write()
                with torn_lock:
                    if torn[0]:
                        break
            done.set()
            return
        while not done.is_set():
            try:
                config = yaml.safe_load(out.read_text())
                ok = isinstance(config, dict) and len(config.get("packages", [])) == 501
            except yaml.YAMLError:
                ok = False
            if not ok:
                with torn_lock:
                    torn[0] += 1

    run_together(role, 3)
    return torn[0]


def test_readers_never_see_a_torn_export(cortex_dir: Path, tmp_path: Path) -> None:
    manager = _manager(cortex_dir)
    manager.readers["apt"] = FakeReader(*((f"pkg{i}", "1.0") for i in range(500)))
    out = tmp_path / "system.yaml"
    assert _torn_yaml_reads(out, lambda: manager.export_configuration(out)) == 0


@pytest.mark.twin
def test_the_same_check_catches_upstreams_in_place_export(tmp_path: Path) -> None:
    packages = [{"name": f"pkg{i}", "version": "1.0"} for i in range(501)]
    text = yaml.safe_dump({"cortex_version": "0.1.0", "packages": packages})
    out = tmp_path / "system.yaml"
    # Upstream's truncate-then-write leaves a window on every write: keep writing (up to
    # 5,000 times) until a reader has landed in one, as it always does well before that.
    assert _torn_yaml_reads(out, lambda: unsafe_write_text(out, text), writes=5000) > 0


def test_validate_compatibility(cortex_dir: Path) -> None:
    manager = _manager(cortex_dir)
    assert manager.validate_compatibility({"cortex_version": "0.1.0", "packages": []}) == (
        True,
        None,
    )
    ok, reason = manager.validate_compatibility({"packages": []})
    assert not ok
    assert reason is not None
    assert "cortex_version" in reason
    assert not manager.validate_compatibility({"cortex_version": "99.0", "packages": []})[0]
    assert not manager.validate_compatibility({"cortex_version": "0.1", "packages": [1]})[0]
    assert not manager.validate_compatibility({"cortex_version": "0.1", "preferences": []})[0]


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "cortex_version": "0.1.0",
        "packages": [
            {"name": "nginx", "version": "1.24.0", "source": "apt"},  # upgrade
            {"name": "curl", "version": "7.80.0", "source": "apt"},  # downgrade
            {"name": "htop", "version": "3.2.2", "source": "apt"},  # install
            {"name": "requests", "version": "2.31.0", "source": "pip"},  # already there
        ],
        "preferences": {"theme": "light"},
        **extra,
    }


def test_diff_configuration(cortex_dir: Path) -> None:
    manager = _manager(cortex_dir)
    manager.set_preference("theme", "dark")
    diff = manager.diff_configuration(_config())
    assert [p["name"] for p in diff["packages_to_install"]] == ["htop"]
    assert [p["name"] for p in diff["packages_to_upgrade"]] == ["nginx"]
    assert diff["packages_to_upgrade"][0]["current_version"] == "1.22.1"
    assert [p["name"] for p in diff["packages_to_downgrade"]] == ["curl"]
    assert [p["name"] for p in diff["packages_already_installed"]] == ["requests"]
    assert diff["preferences_changed"] == {"theme": {"current": "dark", "new": "light"}}
    assert diff["warnings"]


def _write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def test_dry_run_import_executes_nothing(cortex_dir: Path, tmp_path: Path) -> None:
    executor = RecordingExecutor()
    manager = _manager(cortex_dir, executor)
    path = _write_config(tmp_path / "c.yaml", _config())
    result = manager.import_configuration(path, dry_run=True)
    assert result["success"]
    assert executor.commands == []
    assert ["apt-get", "install", "-y", "htop=3.2.2"] in result["commands"]
    assert manager.load_preferences() == {}


def test_import_without_an_executor_never_runs_anything(
    cortex_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_subprocess(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("import_configuration must not start a process")

    manager = _manager(cortex_dir)
    monkeypatch.setattr("subprocess.run", no_subprocess)
    monkeypatch.setattr("subprocess.Popen", no_subprocess)
    result = manager.import_configuration(_write_config(tmp_path / "c.yaml", _config()))
    assert {p["reason"] for p in result["skipped"]} == {"no sandbox executor"}
    assert result["installed"] == []
    assert manager.load_preferences() == {"theme": "light"}
    assert result["preferences_updated"]


def test_import_runs_argument_lists_through_the_executor(cortex_dir: Path, tmp_path: Path) -> None:
    executor = RecordingExecutor()
    manager = _manager(cortex_dir, executor)
    config = _config()
    config["packages"].append({"name": "--evil; rm -rf /", "source": "apt"})
    config["packages"].append({"name": "left-pad", "version": "1.3.0", "source": "npm"})
    result = manager.import_configuration(_write_config(tmp_path / "c.yaml", config))
    assert all(isinstance(argv, list) for argv in executor.commands)
    assert ["npm", "install", "-g", "left-pad@1.3.0"] in executor.commands
    assert not any("evil" in arg for argv in executor.commands for arg in argv)
    assert [p["reason"] for p in result["skipped"]] == ["unsafe name or version"]
    assert len(result["installed"]) == 4  # htop, nginx, curl, left-pad
    failing = _manager(cortex_dir, RecordingExecutor(succeed=False))
    assert not failing.import_configuration(tmp_path / "c.yaml")["success"]


def test_selective_and_incompatible_imports(cortex_dir: Path, tmp_path: Path) -> None:
    executor = RecordingExecutor()
    manager = _manager(cortex_dir, executor)
    path = _write_config(tmp_path / "c.yaml", _config())
    result = manager.import_configuration(path, selective=["preferences"])
    assert result["commands"] == []
    assert executor.commands == []
    assert manager.get_preference("theme") == "light"
    with pytest.raises(ValueError, match="unknown section"):
        manager.import_configuration(path, selective=["kernel"])
    newer = _write_config(tmp_path / "newer.yaml", _config(cortex_version="9.0.0"))
    refused = manager.import_configuration(newer, dry_run=True)
    assert not refused["success"]
    assert "newer" in refused["error"]
    assert manager.import_configuration(newer, dry_run=True, force=True)["success"]


def test_a_missing_import_file_is_an_error_naming_it(cortex_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(FileNotFoundError, match=r"nowhere\.yaml"):
        _manager(cortex_dir).import_configuration(missing, dry_run=True)


def test_a_malformed_import_file_names_file_and_line(cortex_dir: Path, tmp_path: Path) -> None:
    manager = _manager(cortex_dir)
    path = tmp_path / "broken.yaml"
    path.write_text("cortex_version: 0.1.0\npackages:\n  - name: nginx\n   version: 1\n")
    with pytest.raises(CorruptFileError) as caught:
        manager.import_configuration(path, dry_run=True)
    assert caught.value.path == path
    assert caught.value.line == 4


# --------------------------------------------------------------------------------------
# the default package readers
# --------------------------------------------------------------------------------------


def test_default_readers_parse_their_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = {
        "dpkg-query": "nginx\t1.22.1-9\tii \nold\t1.0\trc \n",
        "pip3": '[{"name": "requests", "version": "2.31.0"}]',
        "npm": '{"dependencies": {"npm": {"version": "10.2.4"}}}',
    }
    seen: list[list[str]] = []

    def fake(argv: list[str]) -> str:
        seen.append(argv)
        return outputs[argv[0]]

    monkeypatch.setattr(cm, "_run_output", fake)
    assert cm.AptPackages().list_packages() == [
        {"name": "nginx", "version": "1.22.1-9", "source": "apt"}
    ]
    assert cm.PipPackages().list_packages()[0]["name"] == "requests"
    assert cm.NpmPackages().list_packages() == [
        {"name": "npm", "version": "10.2.4", "source": "npm"}
    ]
    assert all(isinstance(argv, list) for argv in seen)
    monkeypatch.setattr(cm, "_run_output", lambda _argv: "not json")
    assert cm.PipPackages().list_packages() == []
    assert cm.NpmPackages().list_packages() == []


def test_missing_package_managers_give_empty_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    assert cm._run_output(["dpkg-query", "-W"]) == ""
    assert ConfigManager(readers=None).detect_installed_packages() == []


def test_many_managers_setting_different_keys_keep_all(cortex_dir: Path) -> None:
    managers = [_manager(cortex_dir) for _ in range(4)]
    run_together(lambda i: managers[i % 4].set_preference(f"k{i}", i), 40)
    assert managers[0].load_preferences() == {f"k{i}": i for i in range(40)}
