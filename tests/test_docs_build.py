"""The guide builds with warnings as errors and nitpicky references, from stored outputs.

The README's guide command executes every notebook; this check renders the outputs stored
in the notebooks (the ones nbval verifies), so it is fast and needs no kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.thread_unsafe(
    reason="one Sphinx build of the whole guide; copies would share its output"
)
def test_guide_builds_without_warnings(tmp_path: Path) -> None:
    env = {**os.environ, "CORTEX_NB_EXECUTION": "off"}
    env.pop("CORTEX_RESULTS_DIR", None)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-W",
            "--keep-going",
            "-n",
            "-q",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    landing = (tmp_path / "html" / "docs" / "index.html").read_text(encoding="utf-8")
    assert "Where to start" in landing
    singletons = tmp_path / "html" / "docs" / "guide" / "singletons.html"
    assert "ns against" in singletons.read_text(encoding="utf-8")
    assert (tmp_path / "html" / "notebooks" / "01-singletons.html").exists()
