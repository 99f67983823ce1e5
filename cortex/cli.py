"""The ``cortex`` command line.

``cortex doctor`` prints the interpreter facts and every setting with where it came from.
Errors a user can fix (a bad setting, a missing file) print one line and exit non-zero;
they never end in a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cortex import __version__
from cortex.runtime import SETTINGS, SettingsError, load_settings, runtime_facts

__all__ = ["main"]


def _doctor(_args: argparse.Namespace) -> int:
    settings = load_settings()  # validate first: a bad setting prints nothing else
    facts = runtime_facts()
    print("Interpreter")
    for label, value in (
        ("implementation", facts.implementation),
        ("version", facts.python_version),
        ("executable", facts.executable),
        ("free-threaded build", "yes" if facts.free_threaded_build else "no"),
        ("GIL enabled now", "yes" if facts.gil_enabled else "no"),
        ("usable cores", str(facts.cores)),
        ("threads run in parallel", "yes" if facts.parallel_threads else "no"),
    ):
        print(f"  {label:<24} {value}")
    print("\nSettings")
    for spec in SETTINGS:
        value = getattr(settings, spec.attribute)
        source = settings.sources[spec.env_var]
        print(f"  {spec.env_var:<34} {value!s:<8} ({source}; {spec.accepted})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(
        prog="cortex", description="Thread-safe Cortex Linux package manager modules."
    )
    parser.add_argument("--version", action="version", version=f"cortex {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor", help="print interpreter facts (free-threaded? GIL on?) and every setting"
    )
    doctor.set_defaults(handler=_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except SettingsError as exc:
        print(f"cortex: invalid setting: {exc}", file=sys.stderr)
        return 2
    return status
