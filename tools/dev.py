#!/usr/bin/env python3
"""Build the guide or run every test, in an isolated environment, on the best interpreter.

Usage (the Makefile's ``guide`` and ``test`` targets call these)::

    python3 tools/dev.py guide     # execute every notebook, build the HTML guide
    python3 tools/dev.py test      # lint, unit + stress tests, nbval, examples, docs check
    python3 tools/dev.py stress    # stress tests and twin checks under pytest --preempt, 3 seeds
    python3 tools/dev.py parallel  # the whole suite under pytest-run-parallel (4 threads)
    python3 tools/dev.py audit     # the race audit: cortex/ clean, every unsafe sample found
    python3 tools/dev.py readiness # resolve every dependency for cp314t (needs the network)
    python3 tools/dev.py audit-eval  # the audit on real code (fetches pinned PyPI packages)
    python3 tools/dev.py python    # print the path of the interpreter that would be used

The interpreter is chosen in this order: ``$CORTEX_PYTHON`` if set; else a free-threaded
``python3.14t`` then ``python3.13t`` (on ``PATH``, under pyenv or uv); else the newest GIL
build of CPython >= 3.10 found on ``PATH`` or under ``~/.pyenv/versions``. Each interpreter
gets its own virtual environment in ``.venv/<tag>``, created with ``venv`` and filled by
``uv`` (installed into it from PyPI), and reused while ``pyproject.toml`` is unchanged.

Only the standard library is used here, so this runs on a fresh machine's ``python3``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".venv"
BUILD = ROOT / "_build"
GROUPS = ("test", "docs", "lint")

_PROBE = (
    "import json, sys, sysconfig;"
    "print(json.dumps({'version': list(sys.version_info[:3]),"
    " 'impl': sys.implementation.name,"
    " 'ft': bool(sysconfig.get_config_var('Py_GIL_DISABLED'))}))"
)


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: tuple[int, int, int]
    free_threaded: bool

    @property
    def tag(self) -> str:
        major, minor, _ = self.version
        return f"cp{major}{minor}{'t' if self.free_threaded else ''}"

    def describe(self) -> str:
        build = "free-threaded build" if self.free_threaded else "GIL build"
        return f"CPython {'.'.join(map(str, self.version))} ({build}) at {self.path}"


def probe(candidate: str) -> Interpreter | None:
    """Ask a candidate interpreter what it is; ``None`` if it does not run or is not CPython."""
    path = shutil.which(candidate) or candidate
    if not os.path.isfile(path):
        return None
    try:
        out = subprocess.run(
            [path, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        facts = json.loads(out)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError):
        return None
    if facts["impl"] != "cpython":
        return None
    major, minor, micro = facts["version"]
    return Interpreter(os.path.realpath(path), (major, minor, micro), bool(facts["ft"]))


def candidates() -> list[str]:
    """Every interpreter path or name worth probing, free-threaded ones first."""
    home = Path.home()
    names = ["python3.14t", "python3.13t"]
    names += sorted(str(p) for p in (home / ".pyenv/versions").glob("*t/bin/python3*t"))
    names += sorted(
        str(p) for p in (home / ".local/share/uv/python").glob("*freethreaded*/bin/python3*t")
    )
    names += [f"python3.{minor}" for minor in range(20, 9, -1)]
    names += sorted(str(p) for p in (home / ".pyenv/versions").glob("3.*/bin/python3"))
    names += ["python3", sys.executable]
    return names


def choose_interpreter() -> Interpreter:
    override = os.environ.get("CORTEX_PYTHON")
    if override:
        found = probe(override)
        if found is None:
            sys.exit(f"dev.py: CORTEX_PYTHON={override!r} is not a runnable CPython interpreter")
        if found.version < (3, 10):
            sys.exit(f"dev.py: CORTEX_PYTHON is {found.describe()}; Python >= 3.10 is required")
        return found
    found_all = [i for c in candidates() if (i := probe(c)) is not None and i.version >= (3, 10)]
    if not found_all:
        sys.exit("dev.py: no CPython >= 3.10 found; set CORTEX_PYTHON to one")
    # Free-threaded first (3.14t before 3.13t), then the newest GIL build.
    return max(found_all, key=lambda i: (i.free_threaded, i.version))


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(argv), flush=True)
    completed = subprocess.run(argv, cwd=ROOT, env=env, check=False)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_environment(interpreter: Interpreter) -> Path:
    """Create (or reuse) the virtual environment for ``interpreter``; return its python."""
    venv = VENVS / interpreter.tag
    python = venv / "bin" / "python"
    stamp = venv / ".cortex-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    wanted += f" {interpreter.path}"
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return python
    print(f"== creating {venv.relative_to(ROOT)} with {interpreter.describe()}", flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    run([interpreter.path, "-m", "venv", str(venv)])
    run([str(python), "-m", "pip", "install", "--quiet", "uv"])
    groups = [arg for group in GROUPS for arg in ("--group", group)]
    run([str(python), "-m", "uv", "pip", "install", "--python", str(python), "-e", ".", *groups])
    stamp.write_text(wanted)
    return python


def environment_for(python: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    env.pop("PYTHONPATH", None)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def print_results_table(results_dir: Path) -> None:
    files = sorted(results_dir.glob("*.json"))
    if not files:
        print("(no measured results were recorded)")
        return
    print("\nMeasured during this build")
    print(f"{'source':<16} {'figure':<28} {'value':>14}  unit")
    runtime: dict[str, object] = {}
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        runtime = document["runtime"]
        for key, figure in sorted(document["figures"].items()):
            value = figure["value"]
            if isinstance(value, str):
                continue  # labels (the interpreter banner) are summarised below
            shown = f"{value:,.3g}" if isinstance(value, float) else str(value)
            spread = ""
            if figure.get("repeats", 1) > 1:
                spread = (
                    f"  median of {figure['repeats']}: {figure['min']:,.3g} to {figure['max']:,.3g}"
                )
            print(f"{path.stem:<16} {key:<28} {shown:>14}  {figure['unit']}{spread}")
    gil = "GIL on" if runtime.get("gil_enabled") else "GIL off"
    build = "free-threaded build" if runtime.get("free_threaded_build") else "GIL build"
    print(
        f"interpreter: {runtime.get('implementation')} {runtime.get('python_version')}, "
        f"{build}, {gil}, {runtime.get('cores')} cores"
    )


def run_benchmarks(python: Path, env: dict[str, str]) -> None:
    """Run each benchmark into _build/benchmarks/; a missed target is shown, not fatal."""
    folder = BUILD / "benchmarks"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for script, output in (
        ("benchmarks/parallel_llm_bench.py", ["--output", str(folder / "parallel_llm.json")]),
        ("benchmarks/cache_bench.py", [str(folder / "cache.json")]),
        ("benchmarks/preempt_bench.py", [str(folder / "preempt.json")]),
    ):
        argv = [str(python), script, *output]
        print("+", " ".join(argv), flush=True)
        status = subprocess.run(argv, cwd=ROOT, env=env, check=False).returncode
        if status not in (0, 1):  # 1 means "a target was missed": the page says which
            sys.exit(f"dev.py: {script} failed with exit status {status}")


def guide(python: Path) -> None:
    started = time.monotonic()
    results = BUILD / "results"
    html = BUILD / "html"
    shutil.rmtree(results, ignore_errors=True)
    shutil.rmtree(BUILD / "jupyter_execute", ignore_errors=True)
    # viewcode keeps a source page whose module file is older than it, links and all: a
    # page left from an earlier build could point at an anchor that no longer exists.
    shutil.rmtree(html, ignore_errors=True)
    env = environment_for(python)
    run_benchmarks(python, env)
    env["CORTEX_RESULTS_DIR"] = str(results)
    env["CORTEX_NB_EXECUTION"] = "force"
    run(
        [
            str(python),
            "-m",
            "sphinx",
            "-b",
            "html",
            "-W",
            "--keep-going",
            "-n",
            "-E",
            "-d",
            str(BUILD / "doctrees"),
            ".",
            str(html),
        ],
        env=env,
    )
    print(f"\nThe guide is at {html / 'index.html'}")
    print_results_table(results)
    # Last: the pages as a reader sees them (headless Chromium where installed).
    run([str(python), "tools/check_pages.py", str(html)], env=env)
    print(f"guide built in {time.monotonic() - started:.0f} s")


def basetemp(python: Path, job: str) -> str:
    """A private pytest base directory per job and interpreter: pytest's clean-up of the
    shared numbered directories under /tmp/pytest-of-$USER races with any other pytest run
    on the machine (and then fails on a ResourceWarning, which the settings make an error)."""
    # Outside the checkout: a pytester project under it would find this pyproject.toml.
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    folder = (
        Path(tempfile.gettempdir())
        / f"cortex-pytest-{checkout}"
        / f"{job}-{python.parent.parent.name}"
    )
    folder.parent.mkdir(parents=True, exist_ok=True)  # pytest creates only the last part
    return f"--basetemp={folder}"


def test(python: Path, extra: list[str]) -> None:
    env = environment_for(python)
    run([str(python), "-m", "ruff", "check", "."], env=env)
    run([str(python), "-m", "ruff", "format", "--check", "."], env=env)
    run([str(python), "-m", "mypy"], env=env)
    run(
        [
            str(python),
            "-m",
            "pytest",
            "tests",
            "notebooks",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            "notebooks/sanitize.cfg",
            "-p",
            "no:run-parallel",
            f"--reliability-report={BUILD / 'reliability.json'}",
            basetemp(python, "test"),
            *extra,
        ],
        env=env,
    )


# make stress: threads forced to switch between the bytecodes of cortex (pytest --preempt,
# from cortex.testing) at this probability, once per seed. A tiny switch interval does not do
# it: a GIL build never splits `self.n += 1` whatever the interval (benchmarks/preempt_bench.py
# measures both).
STRESS_PROBABILITY = 0.3  # cortex.testing.preempt.DEFAULT_PROBABILITY (a test checks)
STRESS_SEEDS = (1, 2, 3)


def stress(python: Path, extra: list[str]) -> None:
    """The stress tests and the twin checks under forced interleaving, once per seed.

    Every seed runs even when an earlier one failed; the exit status says if any did.
    """
    env = environment_for(python)
    failed = []
    for seed in STRESS_SEEDS:
        started = time.monotonic()
        argv = [
            str(python),
            "-m",
            "pytest",
            "tests",
            "-m",
            "stress or twin",
            f"--preempt={STRESS_PROBABILITY}",
            f"--preempt-seed={seed}",
            "--preempt-target=cortex",
            "-p",
            "no:run-parallel",
            basetemp(python, f"stress-{seed}"),
            *extra,
        ]
        print("+", " ".join(argv), flush=True)
        status = subprocess.run(argv, cwd=ROOT, env=env, check=False).returncode
        print(f"stress seed {seed}: {time.monotonic() - started:.0f} s, exit {status}", flush=True)
        if status != 0:
            failed.append(seed)
    if failed:
        sys.exit(f"dev.py: make stress failed for seed(s) {failed}")


def parallel(python: Path, extra: list[str]) -> None:
    """Every test body run by 4 threads at once (pytest-run-parallel)."""
    run(
        [
            str(python),
            "-m",
            "pytest",
            "tests",
            "--parallel-threads=4",
            basetemp(python, "parallel"),
            *extra,
        ],
        env=environment_for(python),
    )


def audit(python: Path) -> None:
    """cortex/ must be clean; every labelled unsafe sample and the twins must be found."""
    env = environment_for(python)
    run([str(python), "-m", "cortex.audit", "cortex", "--exclude", "cortex/demos"], env=env)
    run([str(python), "-m", "cortex.audit.corpus", "--strict", "tests/audit_corpus"], env=env)
    found = subprocess.run(
        [str(python), "-m", "cortex.audit", "cortex/demos", "--fail-on", "high"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 1:
        sys.exit("dev.py: the audit found nothing in cortex/demos, where the unsafe twins are")
    print("the audit flags cortex/demos, where the unsafe twins live, as it must")


def readiness(python: Path) -> None:
    """Resolve the whole dependency set for free-threaded 3.14 (tools/readiness.py)."""
    run([str(python), "tools/readiness.py"], env=environment_for(python))


def audit_eval(python: Path) -> None:
    """Fetch the real-code corpora (PyPI, cached outside the repository) and score the
    audit on them; writes docs/_data/audit-eval.json, the result the guide falls back on."""
    env = environment_for(python)
    run([str(python), "-m", "cortex.audit.evaluate", "fetch"], env=env)
    run(
        [str(python), "-m", "cortex.audit.evaluate", "--json", "docs/_data/audit-eval.json"],
        env=env,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command",
        choices=[
            "guide",
            "test",
            "stress",
            "parallel",
            "audit",
            "audit-eval",
            "readiness",
            "python",
        ],
    )
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (test only)")
    args = parser.parse_args()
    interpreter = choose_interpreter()
    if args.command == "python":
        print(interpreter.path)
        return
    print(f"== interpreter: {interpreter.describe()}", flush=True)
    python = ensure_environment(interpreter)
    if args.command == "guide":
        guide(python)
    elif args.command == "stress":
        stress(python, args.pytest_args)
    elif args.command == "parallel":
        parallel(python, args.pytest_args)
    elif args.command == "audit":
        audit(python)
    elif args.command == "readiness":
        readiness(python)
    elif args.command == "audit-eval":
        audit_eval(python)
    else:
        test(python, args.pytest_args)


if __name__ == "__main__":
    main()
