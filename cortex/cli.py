"""The ``cortex`` command line: the argument parser, the command handlers and their output.

* ``cortex doctor`` prints the interpreter facts, every setting with where it came from,
  how parallel LLM batches will run (engine, concurrency, rate limit, providers) and the
  SQLite connection pools of the default databases that already exist (``~/.cortex/*.db``,
  and ``/var/lib/cortex/*.db`` when readable; it never creates one).
* ``cortex install PKG...`` plans every package in parallel with
  :func:`cortex.install_plan.plan_install`: install commands from the LLM (the offline
  provider unless one is configured, its simulated latency from ``--latency`` or
  ``CORTEX_OFFLINE_LATENCY``; answers served from the semantic cache when it opens) and the
  dependency closure from the package index. It is a **dry run** unless ``--execute`` is
  given; then only commands that pass :func:`cortex.install_plan.validate_command` run, as
  argument lists (never through a shell), after a confirmation (refused without a terminal
  unless ``--yes``), recorded in the installation history when it opens.
* ``cortex history``, ``cortex undo`` and ``cortex cache stats`` read the installation
  history and the semantic cache.
* ``cortex audit PATH...`` runs the static free-threading audit (:mod:`cortex.audit.cli`).

Everything printed goes through :func:`cortex.utils.terminal.printable`: a control
character in a model's answer, a package index, a history record or an error message is
shown escaped (``\x1b``), so no escape sequence can move the cursor over, erase or hide
the plan shown before ``--execute`` asks for confirmation.

Errors a user can fix (a bad setting, an unknown package, an unreachable provider, a
missing index, an unreadable history) print one line and exit non-zero; they never end in
a traceback. A cache or history that cannot be opened during an install (a corrupt file,
an unwritable directory) is reported in one line and the install goes on without it.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cortex import __version__
from cortex.audit.cli import add_arguments as _add_audit_arguments
from cortex.audit.cli import run as _run_audit
from cortex.dependency_resolver import (
    IndexUnavailableError,
    PackageIndex,
    get_default_index,
    load_system_index,
)
from cortex.llm_router import LLMRouter, providers_from_environment
from cortex.parallel_llm import ParallelLLMExecutor, choose_engine
from cortex.runtime import SETTINGS, SettingsError, load_settings, runtime_facts
from cortex.utils.db_pool import PoolHandle, all_pool_stats, normalize_db_path
from cortex.utils.terminal import printable

if TYPE_CHECKING:
    from cortex.install_plan import InstallLedger, InstallPlan
    from cortex.semantic_cache import SemanticCache

__all__ = ["build_parser", "main"]

EXIT_USAGE = 1
EXIT_SETTINGS = 2
EXIT_PROVIDER = 3

# What opening or using the semantic cache or the installation history raises at run time:
# sqlite3.Error (a corrupt file is a cortex.utils.db_pool.DatabaseFileError), OSError (a
# directory that cannot be created; PoolTimeoutError is a TimeoutError) and ValueError.
_STORE_ERRORS = (sqlite3.Error, OSError, ValueError)


def _print(*parts: object, file: TextIO | None = None, flush: bool = False) -> None:
    """:func:`print` with every control character of every part shown escaped.

    What the command line prints mixes its own words with text it did not write (a
    model's answer, package names from an index, history records, error messages naming
    files), so all of it goes through :func:`~cortex.utils.terminal.printable`.
    """
    print(*(printable(part) for part in parts), file=file, flush=flush)


# Where the default databases live: the per-user directory and upstream's system one.
_USER_DB_DIR = "~/.cortex"
_SYSTEM_DB_DIR = "/var/lib/cortex"


# --------------------------------------------------------------------------------------
# The cache, the history and apt, as the install command uses them
# --------------------------------------------------------------------------------------


def _open_cache(out: TextIO) -> SemanticCache | None:
    """The semantic cache, or ``None`` (with one line on ``out`` saying why)."""
    from cortex.semantic_cache import SemanticCache  # noqa: PLC0415 - only install needs it

    try:
        return SemanticCache()
    except _STORE_ERRORS as exc:
        _print(f"cache: unavailable ({exc}); asking the model", file=out)
        return None


def _close_cache(cache: SemanticCache, out: TextIO) -> None:
    """Write the cache's hit and miss counts now rather than at interpreter exit."""
    try:
        cache.close()
    except _STORE_ERRORS as exc:
        _print(f"cache: could not save its hit counts ({exc})", file=out)


def _open_ledger(out: TextIO) -> InstallLedger | None:
    """The installation history as a ledger, or ``None`` (with one line saying why)."""
    from cortex.install_plan import InstallationHistoryLedger  # noqa: PLC0415 - see _plan

    try:
        return InstallationHistoryLedger()
    except _STORE_ERRORS as exc:
        _print(f"history: unavailable ({exc})", file=out)
        return None


def _run_command(argv: Sequence[str]) -> int:
    """Run one validated argument list (``sudo`` first when not root); return its status."""
    full = list(argv) if os.geteuid() == 0 else ["sudo", *argv]
    # No timeout on purpose: the user asked to execute, sees the command's output and may
    # answer sudo's prompt; an install may rightly take long, and Ctrl-C stops it.
    return subprocess.run(full, check=False).returncode


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


class _UserError(Exception):
    """A problem the user can fix: one line on stderr and an exit status."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


# -- doctor ----------------------------------------------------------------------------


def _doctor(_args: argparse.Namespace) -> int:
    settings = load_settings()  # validate first: a bad setting prints nothing else
    facts = runtime_facts()
    _print("Interpreter")
    for label, value in (
        ("implementation", facts.implementation),
        ("version", facts.python_version),
        ("executable", facts.executable),
        ("free-threaded build", "yes" if facts.free_threaded_build else "no"),
        ("GIL enabled now", "yes" if facts.gil_enabled else "no"),
        ("usable cores", str(facts.cores)),
        ("threads run in parallel", "yes" if facts.parallel_threads else "no"),
    ):
        _print(f"  {label:<24} {value}")
    _print("\nSettings")
    for spec in SETTINGS:
        value = getattr(settings, spec.attribute)
        source = settings.sources[spec.env_var]
        _print(f"  {spec.env_var:<34} {value!s:<8} ({source}; {spec.accepted})")

    engine, reason = choose_engine(settings, facts)
    configured = [p.value for p in providers_from_environment()] or ["offline (no key set)"]
    rate = f"{settings.rate_limit_rps:g} requests/s" if settings.rate_limit_rps else "off"
    _print("\nParallel LLM executor")
    for label, value in (
        ("engine", f"{engine} ({reason})"),
        ("max concurrent", str(settings.thread_pool_size)),
        ("rate limit", rate),
        ("providers", ", ".join(configured)),
        ("monitoring", "per-batch figures logged by cortex.parallel_llm at INFO"),
    ):
        _print(f"  {label:<24} {value}")

    directories = _data_directories(settings.data_dir)
    _print("\nData directories")
    for label, directory in directories:
        _print(f"  {label:<24} {directory} ({_directory_state(directory)})")

    handles, problems = _hold_existing_pools(directories)
    try:
        _print_pools(problems)
    finally:
        for handle in handles:  # held only to be reported: leave the process as it was
            handle.close()

    # Last, because on a free-threaded build it starts one interpreter per distribution.
    _print_extensions(all_installed=bool(getattr(_args, "all_extensions", False)))
    return 0


def _print_extensions(*, all_installed: bool) -> None:
    """The extension modules' effect on the GIL (imported only on a free-threaded build)."""
    from cortex import extension_check  # noqa: PLC0415 - only doctor needs it

    distributions = (
        extension_check.all_distributions()
        if all_installed
        else extension_check.runtime_dependency_closure()
    )
    checks = extension_check.check_distributions(distributions)
    scope = "installed" if all_installed else "Cortex's runtime dependencies"
    _print(f"\nExtension modules ({scope})")
    if not checks:
        _print("  none: every distribution checked is pure Python")
        return
    for check in checks:
        if check.keeps_gil_off is None:
            verdict = "not imported: a GIL build runs every extension under the GIL"
        elif check.enabled_by:
            verdict = f"TURNED THE GIL ON: {check.enabled_by}"
        else:
            verdict = "keep the GIL off"
        if check.failed:
            verdict += f" ({len(check.failed)} could not be imported on their own)"
        count = f"{len(check.modules)} module{'s' if len(check.modules) != 1 else ''}"
        _print(f"  {check.distribution:<24} {count:<11} {verdict}")


def _data_directories(configured: str | None) -> list[tuple[str, Path]]:
    """Where stores keep their databases: ``CORTEX_DATA_DIR`` when set, then the defaults.

    The user directory is left out when there is no home directory to expand ``~`` in.
    """
    found: list[tuple[str, Path]] = []
    if configured is not None:
        found.append(("CORTEX_DATA_DIR", Path(configured).expanduser()))
    user_dir = Path(os.path.expanduser(_USER_DB_DIR))
    if user_dir.is_absolute():
        found.append(("user default", user_dir))
    found.append(("system default", Path(_SYSTEM_DB_DIR)))
    return found


def _directory_state(directory: Path) -> str:
    """A few words on a data directory: missing, unreadable, or how many databases."""
    if not directory.is_dir():
        return "not created yet"
    if not os.access(directory, os.R_OK | os.X_OK):
        return "not readable by this user"
    count = sum(1 for _ in _databases_in(directory))
    return f"{count} database{'s' if count != 1 else ''}"


def _databases_in(directory: Path) -> list[Path]:
    """The readable ``*.db`` files in ``directory`` (none when it cannot be listed)."""
    if not os.access(directory, os.R_OK | os.X_OK):
        return []
    # is_file() follows symbolic links: a dangling one would make SQLite create its target.
    return sorted(p for p in directory.glob("*.db") if p.is_file() and os.access(p, os.R_OK))


def _existing_databases(directories: Sequence[tuple[str, Path]]) -> list[str]:
    """The databases that exist in the data directories, each once (normalised path)."""
    found = [path for _label, directory in directories for path in _databases_in(directory)]
    return list(dict.fromkeys(normalize_db_path(p) for p in found))


def _hold_existing_pools(
    directories: Sequence[tuple[str, Path]],
) -> tuple[list[PoolHandle], list[tuple[str, str]]]:
    """Hold the pool of each existing database and check it out once (``SELECT 1``).

    A :class:`~cortex.utils.db_pool.PoolHandle` takes a hold without pinning: a pool a
    store already holds is shared and, once the caller closes the handles, left exactly as
    it was (still released when its store lets go); a pool opened here closes with its
    handle. Only existing files are opened, so none is created (SQLite adds its ``-wal``
    and ``-shm`` files beside an open one, and removes them when the last connection
    closes).

    Returns:
        The handles to close after the report, and ``(path, reason)`` for each database
        that could not be used.
    """
    handles: list[PoolHandle] = []
    problems: list[tuple[str, str]] = []
    for path in _existing_databases(directories):
        try:
            handle = PoolHandle(path)
        except _STORE_ERRORS as exc:
            problems.append((path, str(exc)))
            continue
        try:
            with handle.get_connection() as conn:
                conn.execute("SELECT 1").fetchone()
        except _STORE_ERRORS as exc:
            problems.append((path, str(exc)))
            handle.close()  # reported as unavailable, not listed as a pool
            continue
        handles.append(handle)
    return handles, problems


def _print_pools(problems: Sequence[tuple[str, str]]) -> None:
    _print("\nSQLite pools")
    every = all_pool_stats()
    if not every:
        _print("  no database opened in this process")
    for stats in every:
        _print(f"  {stats.path}")
        _print(
            f"    size {stats.size}, open {stats.opened}, in use {stats.in_use}, "
            f"checkouts {stats.checkouts}, journal {stats.journal_mode}"
        )
        _print(
            f"    wait total {stats.wait_total_s * 1000:.2f} ms, "
            f"max {stats.wait_max_s * 1000:.2f} ms, timeouts {stats.timeouts}, "
            f"busy retries {stats.busy_retries}, rollbacks {stats.rollbacks}"
        )
    for path, reason in problems:
        _print(f"  {path}")
        _print(f"    unavailable: {reason}")


# -- install ---------------------------------------------------------------------------


def _load_index(path: str | None) -> PackageIndex:
    try:
        return load_system_index([path]) if path else get_default_index()
    except IndexUnavailableError as exc:
        raise _UserError(f"package index unavailable: {exc}") from None


def _confirm(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise _UserError("refusing to execute without a terminal to confirm; pass --yes")
    return input(f"{printable(question)} [y/N] ").strip().lower() in {"y", "yes"}


def _print_plan(plan: InstallPlan) -> None:
    for package in plan.packages:
        _print(
            f"\n{package.requested}  ({package.source}, {len(package.closure)} packages in closure)"
        )
        for note in package.notes:
            _print(f"  note: {note}")
        for argv in package.argv:
            _print(f"  $ {shlex.join(argv)}")
        for line, reason in package.rejected:
            _print(f"  rejected: {line!r}: {reason}")
        if package.closure:
            shown = ", ".join(package.closure[:12])
            more = f" and {len(package.closure) - 12} more" if len(package.closure) > 12 else ""
            _print(f"  brings: {shown}{more}")
    _print(
        f"\nplanned {len(plan.packages)} package(s) in {plan.elapsed:.2f} s "
        f"(engine {plan.engine}, cache {plan.cache})"
    )


def _install(args: argparse.Namespace) -> int:
    plan = _plan(args, sys.stdout)
    _print_plan(plan)
    if not args.execute:
        _print("dry run: nothing was executed (pass --execute to run the accepted commands)")
        return 0
    return _execute(args, plan, sys.stdout)


def _plan(args: argparse.Namespace, out: TextIO) -> InstallPlan:
    """Check the names, then plan them (the cache is opened only for known names)."""
    # Imported here so that ``cortex doctor`` does not load the planner and the history.
    from cortex.install_plan import (  # noqa: PLC0415
        UnknownPackagesError,
        check_known,
        plan_install,
    )

    settings = load_settings()
    latency = settings.offline_latency if args.latency is None else args.latency
    if not (math.isfinite(latency) and latency >= 0):
        raise _UserError(f"--latency must be a number of seconds >= 0, not {args.latency}")
    index = _load_index(args.index)
    try:
        check_known(args.packages, index)  # before opening the cache or asking anyone
    except UnknownPackagesError as exc:
        raise _UserError(str(exc)) from None
    router = LLMRouter(offline_latency=latency, index=index)
    executor = ParallelLLMExecutor(router, engine=args.engine, settings=settings)
    cache = None if args.no_cache else _open_cache(out)
    providers = ", ".join(p.value for p in router.providers)
    _print(f"planning {len(args.packages)} package(s) with {providers}")
    try:
        plan = plan_install(
            args.packages,
            router=router,
            executor=executor,
            index=index,
            cache=cache,
            progress=lambda line: _print(line, flush=True),
        )
    except UnknownPackagesError as exc:
        raise _UserError(str(exc)) from None
    finally:
        if cache is not None:
            _close_cache(cache, out)
    if plan.errors:
        raise _UserError("could not plan " + "; ".join(plan.errors), EXIT_PROVIDER)
    return plan


def _execute(args: argparse.Namespace, plan: InstallPlan, out: TextIO) -> int:
    """Confirm, record in the history (when it opens), run each command, record the end."""
    commands = plan.commands()
    if not commands:
        raise _UserError("nothing to execute: no command passed validation")
    if not _confirm(args, f"Run these {len(commands)} command(s)?"):
        _print("cancelled")
        return 1
    ledger = _open_ledger(out)
    lines = [shlex.join(argv) for argv in commands]
    installs = sorted({n for p in plan.packages for n in p.installs})
    record_id = None
    if ledger is not None:
        try:
            record_id = ledger.record(installs, lines, datetime.now())
        except _STORE_ERRORS as exc:  # the history never stops an install
            _print(f"history: could not record this installation ({exc})", file=out)
    for argv in commands:
        _print(f"running: {shlex.join(argv)}", flush=True)
        status = _run_command(argv)
        if status != 0:
            message = f"{shlex.join(argv)} exited with status {status}"
            _finish(ledger, record_id, False, message, out)
            raise _UserError(message)
    if _finish(ledger, record_id, True, None, out):
        _print(f"recorded as installation {record_id}")
    return 0


def _finish(
    ledger: InstallLedger | None,
    record_id: str | None,
    success: bool,
    error: str | None,
    out: TextIO,
) -> bool:
    """Mark a recorded install finished; True when it was recorded."""
    if ledger is None or record_id is None:
        return False
    try:
        ledger.finish(record_id, success, error)
    except _STORE_ERRORS as exc:  # report, do not fail the install
        _print(f"history: could not update installation {record_id} ({exc})", file=out)
        return False
    return True


# -- history, undo, cache stats --------------------------------------------------------


def _history(args: argparse.Namespace) -> int:
    from cortex.installation_history import InstallationHistory  # noqa: PLC0415 - see _plan

    try:
        records = InstallationHistory().get_history(limit=args.limit)
    except _STORE_ERRORS as exc:
        raise _UserError(f"cannot read the installation history: {exc}") from None
    if not records:
        _print("no installations recorded")
        return 0
    for record in records:
        _print(
            f"{record.id}  {record.timestamp}  {record.operation_type.value:<8} "
            f"{record.status.value:<11} {', '.join(record.packages)}"
        )
    return 0


def _undo(args: argparse.Namespace) -> int:
    from cortex.installation_history import InstallationHistory  # noqa: PLC0415 - see _plan

    try:
        history = InstallationHistory()
        install_id = args.id
        if install_id is None:
            latest = history.get_history(limit=1)
            if not latest:
                raise _UserError("nothing to undo: no installations recorded")
            install_id = latest[0].id
        if args.execute and not _confirm(args, f"Roll back installation {install_id}?"):
            _print("cancelled")
            return 1
        ok, message = history.rollback(install_id, dry_run=not args.execute)
    except _STORE_ERRORS as exc:
        raise _UserError(f"cannot read the installation history: {exc}") from None
    _print(message)
    if not args.execute:
        _print("dry run: nothing was changed (pass --execute to roll back)")
    return 0 if ok else 1


def _cache_stats(_args: argparse.Namespace) -> int:
    from cortex.semantic_cache import SemanticCache  # noqa: PLC0415 - see _plan

    try:
        stats = SemanticCache().stats()
    except _STORE_ERRORS as exc:
        raise _UserError(f"cannot open the semantic cache: {exc}") from None
    _print(f"hits      {stats.hits}")
    _print(f"misses    {stats.misses}")
    _print(f"hit rate  {stats.hit_rate:.1%}")
    return 0


# -- the parser ------------------------------------------------------------------------


def _setting_default(env_var: str) -> object:
    return next(spec.default for spec in SETTINGS if spec.env_var == env_var)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(
        prog="cortex", description="Thread-safe Cortex Linux package manager modules."
    )
    parser.add_argument("--version", action="version", version=f"cortex {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor",
        help="print interpreter facts (free-threaded? GIL on?), every setting and the SQLite pools",
    )
    doctor.add_argument(
        "--all-extensions",
        action="store_true",
        help="on a free-threaded build, check every installed distribution's extension "
        "modules, not only Cortex's runtime dependencies",
    )
    doctor.set_defaults(handler=_doctor)

    install = commands.add_parser(
        "install", help="plan (and with --execute, run) the installation of packages"
    )
    install.add_argument("packages", nargs="+", metavar="PACKAGE")
    install.add_argument(
        "--execute", action="store_true", help="run the validated commands (default: dry run)"
    )
    install.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    install.add_argument("--index", metavar="FILE", help="a Debian Packages file to plan against")
    install.add_argument(
        "--latency",
        type=float,
        default=None,  # read from the settings when the command runs, not when parsing
        metavar="SECONDS",
        help="simulated latency of the offline provider (default: CORTEX_OFFLINE_LATENCY, "
        f"else {_setting_default('CORTEX_OFFLINE_LATENCY')})",
    )
    install.add_argument("--engine", choices=("threads", "asyncio"), help="override the engine")
    install.add_argument("--no-cache", action="store_true", help="do not use the semantic cache")
    install.set_defaults(handler=_install)

    history = commands.add_parser("history", help="list recorded installations")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(handler=_history)

    undo = commands.add_parser("undo", help="roll back an installation (dry run by default)")
    undo.add_argument("id", nargs="?", help="installation id (default: the latest)")
    undo.add_argument("--execute", action="store_true", help="really roll back")
    undo.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    undo.set_defaults(handler=_undo)

    cache = commands.add_parser("cache", help="semantic cache commands")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    stats = cache_commands.add_parser("stats", help="hits, misses and hit rate")
    stats.set_defaults(handler=_cache_stats)

    audit = commands.add_parser(
        "audit", help="find free-threading races in Python source (static; runs nothing)"
    )
    _add_audit_arguments(audit)
    audit.set_defaults(handler=_run_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except SettingsError as exc:
        _print(f"cortex: invalid setting: {exc}", file=sys.stderr)
        return EXIT_SETTINGS
    except _UserError as exc:
        _print(f"cortex: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        _print("cortex: interrupted", file=sys.stderr)
        return 130
    return status
