"""The hosted-runner CI workflow is valid and runs the README's two commands on every build.

The structure is checked against the GitHub workflow schema that check-jsonschema ships
(offline); the checks below it catch what a schema cannot: matrix and step references
that do not exist, and a matrix that drifted from the builds the guide promises.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    schema = ["--builtin-schema", "vendor.github-workflows"]
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflow_passes_the_schema() -> None:
    done = _validate(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "run-on:")
    path = tmp_path / "broken.yml"
    path.write_text(broken, encoding="utf-8")
    assert _validate(path).returncode != 0


def _workflow() -> dict[str, object]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_matrix_and_commands() -> None:
    [job] = _workflow()["jobs"].values()  # type: ignore[attr-defined]
    assert job["strategy"]["matrix"]["python"] == ["3.14t", "3.14", "3.13t", "3.10"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert "make test" in runs
    assert "make guide" in runs
    uploads = "\n".join(
        str(step["with"]["path"])
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/upload-artifact@")
    )
    assert "_build/html" in uploads
    assert "_build/benchmarks/*.json" in uploads


def test_every_expression_refers_to_something_defined() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    [job] = _workflow()["jobs"].values()  # type: ignore[attr-defined]
    matrix_keys = set(job["strategy"]["matrix"])
    step_ids = {step["id"] for step in job["steps"] if "id" in step}
    for name in re.findall(r"\$\{\{\s*matrix\.(\w+)", text):
        assert name in matrix_keys, name
    for name in re.findall(r"\$\{\{\s*steps\.([\w-]+)\.", text):
        assert name in step_ids, name
    for uses in re.findall(r"uses:\s*(\S+)", text):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", uses), (
            f"{uses} is not pinned to a major version"
        )
