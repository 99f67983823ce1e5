"""Running programs: ``program_output`` degrades to ``""``, and no argument meets a shell."""

from __future__ import annotations

import sys
from pathlib import Path

import cortex.config_manager as cm
import cortex.hardware_detection as hw
import cortex.transaction_history as th
from cortex.utils import commands
from cortex.utils.commands import program_output


def test_the_output_of_a_program_that_succeeds() -> None:
    assert program_output([sys.executable, "-c", "print('hello')"]) == "hello\n"


def test_a_missing_program_gives_nothing() -> None:
    assert program_output(["no-such-program-cortex"]) == ""
    assert program_output(["/nonexistent/program", "--version"]) == ""


def test_a_failing_program_gives_nothing() -> None:
    argv = [sys.executable, "-c", "import sys; print('partial'); sys.exit(3)"]
    assert program_output(argv) == ""


def test_a_program_that_times_out_gives_nothing() -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(5)"]
    assert program_output(argv, timeout=0.2) == ""


def test_shell_metacharacters_reach_the_program_as_written(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    literal = [f"; touch {marker}", f"$(touch {marker})", f"`touch {marker}`", "*", "a | b"]
    script = "import sys; print('\\n'.join(sys.argv[1:]))"
    assert program_output([sys.executable, "-c", script, *literal]) == "\n".join(literal) + "\n"
    assert not marker.exists()


def test_the_modules_use_the_shared_mechanisms() -> None:
    assert hw._run.func is program_output
    assert cm._run_output.func is program_output
    assert hw._run.keywords == {"timeout": 5.0}
    assert cm._run_output.keywords == {"timeout": 60.0}
    for name in ("CommandResult", "CommandRunner", "SubprocessRunner"):
        assert getattr(th, name) is getattr(commands, name)
