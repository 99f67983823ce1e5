"""Runtime facts, settings validation and ``cortex doctor``."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig

import pytest

from cortex.cli import main
from cortex.runtime import SETTINGS, SettingsError, load_settings, runtime_facts


def test_facts_describe_this_interpreter() -> None:
    facts = runtime_facts()
    assert facts.python_version.startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert facts.free_threaded_build == bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    if not facts.free_threaded_build:
        assert facts.gil_enabled
    assert facts.cores >= 1
    assert facts.build_label in facts.banner()
    json.dumps(facts.as_dict())


def test_defaults_come_from_the_spec_table() -> None:
    settings = load_settings({})
    for spec in SETTINGS:
        assert getattr(settings, spec.attribute) == spec.default
        assert settings.sources[spec.env_var] == "default"


def test_values_are_parsed_and_sources_recorded() -> None:
    settings = load_settings(
        {
            "CORTEX_USE_FREE_THREADING": "yes",
            "CORTEX_THREAD_POOL_SIZE": " 32 ",
            "CORTEX_RATE_LIMIT_RPS": "0",
            "CORTEX_CACHE_SIMILARITY_THRESHOLD": "0.9",
        }
    )
    assert settings.use_free_threading is True
    assert settings.thread_pool_size == 32
    assert settings.rate_limit_rps == 0.0
    assert settings.cache_similarity_threshold == 0.9
    assert settings.sources["CORTEX_THREAD_POOL_SIZE"] == "env"
    assert settings.sources["CORTEX_DB_POOL_SIZE"] == "default"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CORTEX_DB_POOL_SIZE", "-3"),
        ("CORTEX_DB_POOL_SIZE", "abc"),
        ("CORTEX_DB_POOL_SIZE", "0"),
        ("CORTEX_DB_POOL_SIZE", "2.5"),
        ("CORTEX_THREAD_POOL_SIZE", "100000"),
        ("CORTEX_RATE_LIMIT_RPS", "-1"),
        ("CORTEX_RATE_LIMIT_RPS", "nan"),
        ("CORTEX_USE_ASYNC", "maybe"),
        ("CORTEX_CACHE_SIMILARITY_THRESHOLD", "1.5"),
    ],
)
def test_bad_value_names_the_variable_and_the_range(variable: str, value: str) -> None:
    spec = next(s for s in SETTINGS if s.env_var == variable)
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value})
    message = str(caught.value)
    assert variable in message
    assert repr(value) in message
    assert spec.accepted in message


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"CORTEX_DB_POOL_SIZE": "-3", "CORTEX_THREAD_POOL_SIZE": "x"})
    assert "CORTEX_DB_POOL_SIZE" in str(caught.value)
    assert "CORTEX_THREAD_POOL_SIZE" in str(caught.value)


def test_both_engines_at_once_is_an_error() -> None:
    with pytest.raises(SettingsError, match="choose one engine"):
        load_settings({"CORTEX_USE_FREE_THREADING": "1", "CORTEX_USE_ASYNC": "1"})


def test_doctor_prints_facts_and_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "free-threaded build" in out
    assert "GIL enabled now" in out
    for spec in SETTINGS:
        assert spec.env_var in out


def test_doctor_rejects_a_bad_setting_without_traceback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "cortex", "doctor"],
        env={"CORTEX_DB_POOL_SIZE": "-3", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "CORTEX_DB_POOL_SIZE='-3'" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""
