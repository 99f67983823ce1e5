"""Install planning: what the model proposes, what may run, and what would come with it.

``cortex install`` (see :mod:`cortex.cli`) is a thin layer over this module, which holds
the planning and validation machinery; it prints nothing and reads no arguments.

* :func:`plan_install` plans every requested package in parallel: the install commands
  come from the LLM through a :class:`~cortex.parallel_llm.ParallelLLMExecutor` (or from a
  :class:`CommandCache` first), and the dependency closure of what they install from the
  :class:`~cortex.dependency_resolver.PackageIndex`. It returns an :class:`InstallPlan`
  with one :class:`PackagePlan` per package; it runs nothing.
* :func:`check_known` refuses, before anyone is asked, a name that breaks Debian's rules
  or that the index (with :data:`~cortex.dependency_resolver.PACKAGE_ALIASES`) does not know.
* :func:`validate_command` is the only way a model's command line becomes an argument
  list: a short allow-list of ``apt-get``/``apt``/``dpkg`` forms, every package a valid
  name the index knows, and no shell syntax at all. A line that fails is kept in the plan
  with the reason (:attr:`PackagePlan.rejected`), never run.
* :class:`CommandCache` and :class:`InstallLedger` are what the planner and the command
  line need from the semantic cache and the installation history.
  :class:`cortex.semantic_cache.SemanticCache` is a :class:`CommandCache` as it is;
  :class:`InstallationHistoryLedger` makes a
  :class:`cortex.installation_history.InstallationHistory` an :class:`InstallLedger`.

Planning is safe to call from inside a running event loop (a notebook cell): the batch
then runs on a helper thread with its own loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from cortex.dependency_resolver import (
    PACKAGE_ALIASES,
    DependencyResolver,
    PackageIndex,
    is_valid_package_name,
    resolve_many,
)
from cortex.installation_history import (
    InstallationHistory,
    InstallationStatus,
    InstallationType,
)
from cortex.llm.answers import parse_answer
from cortex.llm_router import LLMRouter, TaskType
from cortex.parallel_llm import (
    DEFAULT_SYSTEM_PROMPT,
    ParallelLLMExecutor,
    ParallelResult,
    create_package_queries,
)

__all__ = [
    "CommandCache",
    "CommandRejectedError",
    "InstallLedger",
    "InstallPlan",
    "InstallationHistoryLedger",
    "PackagePlan",
    "UnknownPackagesError",
    "check_known",
    "plan_install",
    "validate_command",
]

T = TypeVar("T")


# --------------------------------------------------------------------------------------
# What the planner needs from the cache and the history
# --------------------------------------------------------------------------------------


class CommandCache(Protocol):
    """The part of :class:`cortex.semantic_cache.SemanticCache` the planner uses.

    ``SemanticCache`` satisfies it as it is (no adapter); tests pass a dictionary-backed
    fake.
    """

    def get_commands(
        self, prompt: str, provider: str, model: str, system_prompt: str
    ) -> list[str] | None:
        """Cached commands for this exact request, or ``None``."""
        ...

    def put_commands(
        self, prompt: str, provider: str, model: str, system_prompt: str, commands: list[str]
    ) -> None:
        """Store the commands answered for this request."""
        ...


class InstallLedger(Protocol):
    """Records executed installs (:class:`InstallationHistoryLedger` is the real one)."""

    def record(self, packages: list[str], commands: list[str], start_time: datetime) -> str:
        """Record an install that is starting; return its id."""
        ...

    def finish(self, install_id: str, success: bool, error_message: str | None) -> None:
        """Mark the install finished."""
        ...


# --------------------------------------------------------------------------------------
# Validation: what may run
# --------------------------------------------------------------------------------------


class CommandRejectedError(ValueError):
    """A command line from the model is not one Cortex will run."""


class UnknownPackagesError(LookupError):
    """Requested names that are not valid Debian names or not in the package index."""

    def __init__(self, names: Sequence[str], source: str) -> None:
        self.names = tuple(names)
        super().__init__(
            f"unknown package(s): {', '.join(self.names)} (not in the package index: {source})"
        )


_SHELL_SYNTAX = frozenset(";&|$<>`(){}*?!~\\'\"\n\r\t#")
_APT_OPTIONS = frozenset(
    {"-y", "--yes", "--assume-yes", "-q", "--quiet", "--no-install-recommends"}
)


def _validate_apt(
    program: str, args: Sequence[str], knows: Callable[[str], bool]
) -> tuple[str, ...]:
    if not args:
        raise CommandRejectedError(f"{program} without a subcommand")
    sub, rest = args[0], args[1:]
    options = [a for a in rest if a.startswith("-")]
    names = [a for a in rest if not a.startswith("-")]
    unknown_options = [o for o in options if o not in _APT_OPTIONS]
    if unknown_options:
        raise CommandRejectedError(f"option(s) not allowed: {' '.join(unknown_options)}")
    if sub == "update":
        if names:
            raise CommandRejectedError("update takes no package names")
        return (program, sub, *options)
    if sub != "install":
        raise CommandRejectedError(f"{program} {sub} is not an allowed subcommand")
    if not names:
        raise CommandRejectedError("install without a package")
    for name in names:
        if not is_valid_package_name(name):
            raise CommandRejectedError(f"{name!r} is not a valid Debian package name")
        if not knows(name):
            raise CommandRejectedError(f"{name!r} is not in the package index")
    return (program, sub, *options, *names)


def validate_command(line: str, knows: Callable[[str], bool]) -> list[str]:
    """Turn one command line from the model into an argument list, or reject it.

    Accepted forms (an optional leading ``sudo`` is dropped; the executor adds it back
    when not root): ``apt-get|apt update``, ``apt-get|apt install [OPTIONS] PKG...``
    with options from a fixed list and every package a valid Debian name that ``knows``
    (the index) accepts, ``dpkg -s|-l PKG...`` and ``dpkg --configure -a``. Anything with
    shell syntax is rejected before parsing: nothing from a model ever reaches a shell.

    Raises:
        CommandRejectedError: with the reason.
    """
    bad = sorted({c for c in line if c in _SHELL_SYNTAX})
    if bad:
        raise CommandRejectedError(f"shell syntax {''.join(bad)!r} is not allowed")
    argv = line.split()
    if argv[:1] == ["sudo"]:
        argv = argv[1:]
    if not argv:
        raise CommandRejectedError("empty command")
    program, args = argv[0], argv[1:]
    if program in ("apt-get", "apt"):
        return list(_validate_apt(program, args, knows))
    if program == "dpkg":
        if args == ["--configure", "-a"]:
            return ["dpkg", "--configure", "-a"]
        if args[:1] in (["-s"], ["-l"]) and all(is_valid_package_name(a) for a in args[1:]):
            return ["dpkg", *args]
        raise CommandRejectedError("only dpkg -s/-l PKG and dpkg --configure -a are allowed")
    raise CommandRejectedError(f"{program!r} is not an apt or dpkg command")


# --------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackagePlan:
    """What Cortex would do for one requested package."""

    requested: str
    lines: tuple[str, ...] = ()
    """The model's command lines, as :func:`~cortex.llm.answers.parse_answer` read them."""
    notes: tuple[str, ...] = ()
    """The model's comments and prose."""
    argv: tuple[tuple[str, ...], ...] = ()
    """The lines that passed validation, as argument lists."""
    rejected: tuple[tuple[str, str], ...] = ()
    """``(line, reason)`` for every line that did not pass."""
    installs: tuple[str, ...] = ()
    """The packages the accepted commands install."""
    closure: tuple[str, ...] = ()
    """Every package that would come with them (see :mod:`cortex.dependency_resolver`)."""
    source: str = ""
    """``"cache"``, or ``"llm:<provider>"``."""
    error: str | None = None


@dataclass(frozen=True)
class InstallPlan:
    """The plan for every requested package, and how it was made."""

    packages: tuple[PackagePlan, ...]
    elapsed: float
    engine: str
    cache: str
    """``"on"`` when a cache was consulted, else ``"off"``."""
    batch_stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        """One message per package that could not be planned."""
        return [f"{p.requested}: {p.error}" for p in self.packages if p.error]

    def commands(self) -> list[list[str]]:
        """Every accepted command once, in plan order (``apt-get update`` only once)."""
        unique = dict.fromkeys(argv for p in self.packages for argv in p.argv)
        return [list(argv) for argv in unique]


def check_known(packages: Sequence[str], index: PackageIndex) -> None:
    """Refuse names that break Debian's rules or that the index (and aliases) do not know.

    Raises:
        UnknownPackagesError: listing every such name.
    """
    unknown = [
        name
        for name in packages
        if not is_valid_package_name(name)
        or not (index.knows(name) or PACKAGE_ALIASES.get(name, "") in index)
    ]
    if unknown:
        raise UnknownPackagesError(unknown, index.source)


def plan_install(
    packages: Sequence[str],
    *,
    router: LLMRouter,
    executor: ParallelLLMExecutor,
    index: PackageIndex,
    cache: CommandCache | None = None,
    progress: Callable[[str], None] | None = None,
    system_prompt: str | None = None,
) -> InstallPlan:
    """Plan ``packages``: LLM commands (cache first) and dependency closures, in parallel.

    Args:
        packages: the names the user asked for.
        router: an :class:`~cortex.llm_router.LLMRouter` (decides provider and model).
        executor: a :class:`~cortex.parallel_llm.ParallelLLMExecutor` using ``router``.
        index: the :class:`~cortex.dependency_resolver.PackageIndex` to check names against.
        cache: a :class:`CommandCache`, or ``None`` to always ask the model.
        progress: called with one line per finished package.
        system_prompt: overrides the executor's default system prompt.

    Raises:
        UnknownPackagesError: a name is not a valid Debian name, or is not in the index.
    """
    started = time.perf_counter()
    wanted = list(dict.fromkeys(packages))
    check_known(wanted, index)
    system = system_prompt or DEFAULT_SYSTEM_PROMPT
    queries = create_package_queries(wanted, system_prompt=system)
    decision = router.route_task(TaskType.DEPENDENCY_RESOLUTION)
    provider_name = decision.provider.value
    model = router.providers[decision.provider].model
    say = progress or (lambda _line: None)

    answers: dict[str, tuple[str, str]] = {}  # package -> (content, source)
    to_ask = []
    for query in queries:
        package = query.metadata["package"]
        prompt = query.messages[-1]["content"]
        cached = cache.get_commands(prompt, provider_name, model, system) if cache else None
        expected = PACKAGE_ALIASES.get(package, package)
        # Serve only an answer that installs this package (a similar prompt is not enough).
        if cached and any(expected in line.split() for line in cached):
            answers[package] = ("\n".join(cached), "cache")
            say(f"[{len(answers)}/{len(queries)}] {package}: from cache")
        else:
            to_ask.append(query)

    errors: dict[str, str] = {}
    batch_stats: dict[str, Any] = {}
    if to_ask:
        counter = _Progress(len(answers), len(queries), say)
        batch = _run_blocking(
            lambda: executor.execute_with_callback_async(to_ask, counter.finished)
        )
        batch_stats = asdict(batch.stats) if batch.stats is not None else {}
        for query, result in zip(to_ask, batch.results, strict=True):
            package = query.metadata["package"]
            if not result.success or result.response is None:
                errors[package] = result.error or "failed"
                continue
            content = result.response.content
            answers[package] = (content, f"llm:{result.response.provider.value}")
            if cache is not None:
                # Cache what was read, not the decoration: candidates, then notes as comments.
                parsed = parse_answer(content)
                commands = [*parsed.lines, *(f"# {note}" for note in parsed.notes)]
                cache.put_commands(
                    query.messages[-1]["content"], provider_name, model, system, commands
                )

    plans = {p: _package_plan(p, answers[p], index) for p in wanted if p not in errors}
    resolver = DependencyResolver(index)
    targets = sorted({name for plan in plans.values() for name in plan.installs})
    closures = resolve_many(resolver, targets, engine="threads", workers=executor.max_concurrent)
    resolved = dict(zip(targets, closures, strict=True))
    result_plans = []
    for package in wanted:
        if package in errors:
            result_plans.append(PackagePlan(requested=package, error=errors[package]))
            continue
        plan = plans[package]
        closure = sorted({n for name in plan.installs for n in resolved[name].closure})
        result_plans.append(replace(plan, closure=tuple(closure)))
    return InstallPlan(
        packages=tuple(result_plans),
        elapsed=time.perf_counter() - started,
        engine=executor.engine,
        cache="on" if cache is not None else "off",
        batch_stats=batch_stats,
    )


def _run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion, also when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(1, thread_name_prefix="cortex-plan") as helper:
        return helper.submit(lambda: asyncio.run(make())).result()


class _Progress:
    """Counts finished queries and prints one line each (called on the loop's thread)."""

    def __init__(self, done: int, total: int, say: Callable[[str], None]) -> None:
        self.done = done
        self.total = total
        self.say = say

    def finished(self, result: ParallelResult) -> None:
        # cortex-audit: ignore[shared-rmw] only the batch's event loop thread calls this
        self.done += 1
        package = result.query_id.removeprefix("pkg_")
        if result.success and result.response is not None:
            detail = f"answered in {result.execution_time:.2f} s"
        else:
            detail = f"failed ({result.error})"
        self.say(f"[{self.done}/{self.total}] {package}: {detail}")


def _package_plan(package: str, answer: tuple[str, str], index: PackageIndex) -> PackagePlan:
    """Validate one answer's lines; keep the accepted argument lists and the reasons."""
    content, source = answer
    parsed = parse_answer(content)
    lines, notes = parsed.lines, parsed.notes
    accepted, rejected = [], []
    for line in lines:
        try:
            accepted.append(tuple(validate_command(line, index.knows)))
        except CommandRejectedError as exc:
            rejected.append((line, str(exc)))
    installs = [
        name
        for argv in accepted
        if "install" in argv
        for name in argv[argv.index("install") + 1 :]
        if not name.startswith("-")
    ]
    return PackagePlan(
        requested=package,
        lines=tuple(lines),
        notes=tuple(notes),
        argv=tuple(accepted),
        rejected=tuple(rejected),
        installs=tuple(dict.fromkeys(installs)),
        source=source,
    )


# --------------------------------------------------------------------------------------
# The installation history as a ledger
# --------------------------------------------------------------------------------------


class InstallationHistoryLedger:
    """An :class:`InstallLedger` that writes to an installation history.

    Each install is recorded as an ``INSTALL`` operation that starts ``IN_PROGRESS`` and
    ends ``SUCCESS`` or ``FAILED`` (with the error message).

    Args:
        history: the history to write to; ``None`` opens upstream's default,
            ``/var/lib/cortex/history.db`` (``~/.cortex/history.db`` when that directory
            is not writable).

    Raises:
        sqlite3.Error: the default database cannot be opened
            (:class:`~cortex.utils.db_pool.DatabaseFileError` for a corrupt file).
        OSError: its directory cannot be created.
    """

    def __init__(self, history: InstallationHistory | None = None) -> None:
        self.history = history if history is not None else InstallationHistory()

    def record(self, packages: list[str], commands: list[str], start_time: datetime) -> str:
        """Record an install that is starting; return its id."""
        return self.history.record_installation(
            InstallationType.INSTALL, packages, commands, start_time
        )

    def finish(self, install_id: str, success: bool, error_message: str | None) -> None:
        """Mark the install finished: ``SUCCESS``, or ``FAILED`` with ``error_message``."""
        status = InstallationStatus.SUCCESS if success else InstallationStatus.FAILED
        self.history.update_installation(install_id, status, error_message)
