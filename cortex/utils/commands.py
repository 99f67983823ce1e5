"""Running programs: argument lists only, never a shell, with a timeout.

Two shapes, for the two reasons a module runs a program:

* :func:`program_output` reads what a program prints (``lspci``, ``dpkg-query``,
  ``pip3 list``) and treats every failure alike: a missing program, a non-zero exit or a
  timeout all give ``""``, so a detector or reader degrades to "nothing found".
* :class:`SubprocessRunner` runs a command whose outcome matters (a rollback) and reports
  its exit status and both outputs as a :class:`CommandResult`; callers that take a
  :class:`CommandRunner` accept a test double instead.

Neither raises for a missing program or a timeout, and an argument is never interpreted by
a shell: ``;``, ``$()`` or ``*`` in an argument reach the program as written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CommandResult", "CommandRunner", "SubprocessRunner", "program_output"]


def program_output(argv: Sequence[str], *, timeout: float = 5.0) -> str:
    """Output of a program, or ``""`` if it is missing, fails or times out. Never a shell.

    Args:
        argv: the program and its arguments (``argv[0]`` is looked up on ``PATH``).
        timeout: seconds before the program is stopped and ``""`` returned.

    Returns:
        The program's standard output when it exits with status 0, else ``""``.
    """
    if shutil.which(argv[0]) is None:
        return ""
    try:
        completed = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return completed.stdout if completed.returncode == 0 else ""


@dataclass(frozen=True)
class CommandResult:
    """What one command returned."""

    returncode: int
    stdout: str = ""
    stderr: str = ""


class CommandRunner(Protocol):
    """Runs one command given as an argument list (never through a shell)."""

    def run(self, argv: Sequence[str]) -> CommandResult:
        """Run ``argv`` and return its exit status and output."""
        ...


class SubprocessRunner:
    """The real runner: ``subprocess.run`` with an argument list and a timeout.

    A missing program or a timeout is reported as a failed :class:`CommandResult`
    (return code 127 or 124), never raised.

    Args:
        timeout: seconds before a command is stopped.
        privileged: prefix ``sudo`` when the process is not root (rollback commands change
            the system's packages; reading state does not need it).
    """

    def __init__(self, timeout: float = 600.0, privileged: bool = False) -> None:
        self.timeout = timeout
        self.privileged = privileged

    def run(self, argv: Sequence[str]) -> CommandResult:
        """Run ``argv`` (no shell) and capture its output."""
        full = list(argv)
        if self.privileged and hasattr(os, "geteuid") and os.geteuid() != 0:
            full = ["sudo", "--", *full]
        try:
            done = subprocess.run(
                full, capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except FileNotFoundError:
            return CommandResult(127, "", f"command not found: {argv[0]}")
        except subprocess.TimeoutExpired:
            return CommandResult(124, "", f"timed out after {self.timeout:g} s")
        return CommandResult(done.returncode, done.stdout, done.stderr)
