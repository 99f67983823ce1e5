"""Forced interleaving: hand the GIL to another thread between bytecodes of chosen code.

On a GIL build CPython only switches threads at a few instructions (calls, backward jumps),
so a read-modify-write such as ``self.hits += 1`` is never split, whatever
``sys.setswitchinterval`` says. A free-threaded build splits it all the time. To show
those races on any interpreter, :func:`preemption` watches every instruction of the *target*
modules' code and, with a given probability, releases the GIL there (``os.sched_yield()``), so
that another thread runs in the middle of the statement. The code under test is unmodified.

* Targets are module names or ``fnmatch`` globs: ``"cortex"`` covers the package and its
  submodules, ``"cortex.demos.*"`` only what the glob matches. The standard library, pytest,
  pluggy and this package are never preempted.
* Each thread draws from its own random generator, seeded from ``(seed, n)`` where ``n`` is
  the order in which the threads were started inside the block (the entering thread is 0):
  a seed replays the same decisions per thread; the OS still decides who runs next.
* Threads started inside the block are covered, including ``concurrent.futures`` workers.
  On 3.12+ (``sys.monitoring``) threads that already existed are covered as well.
* On a free-threaded build the hand-overs still widen the windows; nothing here needs the GIL.

Backends: on 3.12+ ``sys.monitoring`` ``INSTRUCTION`` events, enabled only on target code
objects (every other code object gets its ``PY_START`` event disabled after one look); on
3.10 and 3.11 ``sys.settrace`` with ``frame.f_trace_opcodes`` (``backend="settrace"``
chooses it on any version).
"""

from __future__ import annotations

import _thread
import contextlib
import fnmatch
import linecache
import os
import random
import secrets
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any, Literal

__all__ = [
    "DEFAULT_PROBABILITY",
    "NEVER_PREEMPTED",
    "PreemptionRun",
    "SwitchSite",
    "TargetMatcher",
    "active_run",
    "preemption",
]

DEFAULT_PROBABILITY = 0.3
"""Chance of a forced hand-over at each instruction of target code."""

RING_SIZE = 8
"""How many of its last forced hand-overs each thread remembers for the report."""

NEVER_PREEMPTED: tuple[str, ...] = ("pytest", "_pytest", "pluggy", "py", "cortex.testing")
"""Top-level names (besides the standard library) whose code is never preempted."""

Backend = Literal["auto", "monitoring", "settrace"]

# Blocks nest only within one thread: both backends are process-wide hooks.
_ACTIVE_LOCK = threading.Lock()  # guards _ACTIVE
_ACTIVE: list[PreemptionRun] = []  # the active runs, innermost last

# Thread.start is wrapped while a block is active, to number threads in start order: on the
# class itself, captured now, since a controlled scheduler (interleave-test) replaces the
# module's ``threading.Thread`` name during its runs (and its class must be left alone).
# While it does, no hand-over is forced: the scheduler decides who runs. (Its exploration
# is still disturbed by our instruction events on the same code, measured with
# interleave-test 0.1.0 on 3.13: mark such tests no_preempt.)
_THREAD = threading.Thread
_ORIGINAL_START = _THREAD.start


def _current_thread() -> tuple[threading.Thread | None, str]:
    # threading.current_thread() would register a dummy Thread for a thread started by
    # _thread (a controlled scheduler's, say), running threading code inside our callback.
    ident = _thread.get_ident()
    thread = threading._active.get(ident)  # type: ignore[attr-defined]
    return thread, thread.name if thread is not None else f"thread {ident}"


def _stdlib_names() -> frozenset[str]:
    names: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    return names | {"__future__", "_distutils_hack", "sitecustomize"}


_STDLIB = _stdlib_names()


class TargetMatcher:
    """Decides from a module name whether its code is preempted.

    A pattern without glob characters matches the module and its submodules; a pattern with
    ``*``, ``?`` or ``[`` is matched against the whole dotted name with ``fnmatch``.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        if isinstance(patterns, str):
            raise TypeError("targets must be a sequence of patterns, not one string")
        cleaned = tuple(p.strip() for p in patterns if p.strip())
        if not cleaned:
            raise ValueError("preemption needs at least one target pattern")
        self.patterns = cleaned
        self._plain = tuple(p for p in cleaned if not any(c in p for c in "*?["))
        self._globs = tuple(p for p in cleaned if p not in self._plain)

    def __call__(self, module: str | None) -> bool:
        """True when code of ``module`` is preempted."""
        if not module:
            return False
        top = module.partition(".")[0]
        if top in _STDLIB or any(
            module == n or module.startswith(n + ".") for n in NEVER_PREEMPTED
        ):
            return False
        for pattern in self._plain:
            if module == pattern or module.startswith(pattern + "."):
                return True
        return any(fnmatch.fnmatchcase(module, g) for g in self._globs)


@dataclass(frozen=True)
class SwitchSite:
    """Where one thread was made to hand over: its thread name, file and line."""

    thread: str
    filename: str
    lineno: int | None

    def __str__(self) -> str:
        return f"{_short(self.filename)}:{self.lineno if self.lineno is not None else '?'}"


def _source(site: SwitchSite) -> str:
    text = linecache.getline(site.filename, site.lineno or 0).strip()
    return text[:60] if text else "?"


def _short(filename: str) -> str:
    # relative to the working directory when inside it: reports stay readable
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


def _runs(sites: Iterable[SwitchSite]) -> str:
    # "a.py:7 x3, a.py:9": repeated sites in a row are counted, not listed
    parts: list[list[Any]] = []
    for site in sites:
        text = str(site)
        if parts and parts[-1][0] == text:
            parts[-1][1] += 1
        else:
            parts.append([text, 1])
    return ", ".join(t if n == 1 else f"{t} x{n}" for t, n in parts)


def _line_of(code: CodeType, offset: int) -> int | None:
    for start, end, line in code.co_lines():
        if start <= offset < end:
            return line
    return None


@dataclass
class _ThreadState:
    """One thread's generator and record; only its own thread writes to it."""

    name: str
    order: str
    random: Callable[[], float]
    events: int = 0
    switches: int = 0
    # (code, instruction offset) or (code, line number) of the last forced hand-overs
    ring: deque[tuple[CodeType, int, bool]] = field(default_factory=lambda: deque(maxlen=RING_SIZE))
    # how many hand-overs happened at each (code, offset or line, is_line)
    sites: dict[tuple[CodeType, int, bool], int] = field(default_factory=dict)


class PreemptionRun:
    """One :func:`~cortex.testing.preempt.preemption` block: its parameters, and what it did.

    Attributes: ``seed``, ``probability``, ``targets`` (the patterns), ``backend``
    (``"sys.monitoring"`` or ``"sys.settrace"``).
    """

    def __init__(
        self, probability: float, seed: int, targets: tuple[str, ...], backend: str
    ) -> None:
        self.probability = probability
        self.seed = seed
        self.targets = targets
        self.backend = backend
        self.matcher = TargetMatcher(targets)
        self.active = False
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _states, _started, _late and _order_of
        self._states: list[_ThreadState] = []
        self._order_of: weakref.WeakKeyDictionary[threading.Thread, int] = (
            weakref.WeakKeyDictionary()
        )
        self._owner = 0
        self._impl: _MonitoringBackend | _TraceBackend
        self._started = 0
        self._late = 0
        self._is_target: dict[CodeType, bool] = {}

    # -- what happened ------------------------------------------------------------------
    @property
    def switches(self) -> int:
        """Forced hand-overs so far, all threads together."""
        with self._lock:
            return sum(s.switches for s in self._states)

    @property
    def events(self) -> int:
        """Instructions of target code seen so far, all threads together."""
        with self._lock:
            return sum(s.events for s in self._states)

    @property
    def threads(self) -> int:
        """Threads that ran target code inside the block."""
        with self._lock:
            return len(self._states)

    def last_switches(self) -> dict[str, list[SwitchSite]]:
        """Each thread's last forced hand-overs, oldest first (at most ``RING_SIZE``)."""
        with self._lock:
            states = list(self._states)
        out: dict[str, list[SwitchSite]] = {}
        for state in states:
            sites = []
            for code, where, is_line in list(state.ring):
                line = where if is_line else _line_of(code, where)
                sites.append(SwitchSite(state.name, code.co_filename, line))
            if sites:
                out[f"{state.name} (#{state.order})"] = sites
        return out

    def busiest_sites(self, top: int = 3) -> dict[str, list[tuple[SwitchSite, int]]]:
        """Each thread's lines with the most forced hand-overs, and how many each."""
        with self._lock:
            states = list(self._states)
        out: dict[str, list[tuple[SwitchSite, int]]] = {}
        for state in states:
            per_line: dict[SwitchSite, int] = {}
            for (code, where, is_line), count in list(state.sites.items()):
                line = where if is_line else _line_of(code, where)
                site = SwitchSite(state.name, code.co_filename, line)
                per_line[site] = per_line.get(site, 0) + count
            ranked = sorted(per_line.items(), key=lambda item: -item[1])[:top]
            if ranked:
                out[f"{state.name} (#{state.order})"] = ranked
        return out

    def describe(self) -> str:
        """One line: the parameters that replay this run, and how many hand-overs it forced."""
        return (
            f"preemption seed={self.seed} probability={self.probability:g} "
            f"targets={','.join(self.targets)} backend={self.backend}: "
            f"{self.switches} forced switches over {self.events} instructions "
            f"in {self.threads} threads"
        )

    def report(self) -> str:
        """:meth:`describe`, then per thread where it was preempted most and last (file:line).

        Which hand-over lost an update cannot be known after the fact; the lines where two
        threads were both preempted most often are where to look first.
        """
        lines = [self.describe()]
        busiest = self.busiest_sites()
        for thread, sites in self.last_switches().items():
            most = ", ".join(
                f"{site} x{count} ({_source(site)})" for site, count in busiest.get(thread, [])
            )
            lines.append(f"  {thread}: preempted most at {most}")
            lines.append(f"    last hand-overs (newest first): {_runs(reversed(sites))}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<PreemptionRun {self.describe()}>"

    # -- per-thread state ----------------------------------------------------------------
    def _state(self) -> _ThreadState:
        try:
            state: _ThreadState = self._local.state
            return state
        except AttributeError:
            pass
        thread, name = _current_thread()
        with self._lock:
            number = self._order_of.get(thread) if thread is not None else None
            if number is not None:
                order = str(number)
            else:
                self._late += 1
                order = f"x{self._late}"
            # replayable test decisions, not secrets
            rng = random.Random(f"{self.seed}:{order}")  # noqa: S311
            state = _ThreadState(name, order, rng.random)
            self._states.append(state)
        self._local.state = state
        return state

    def _number_thread(self, thread: threading.Thread, entering: bool = False) -> None:
        with self._lock:
            if entering:
                self._owner = threading.get_ident()
                self._order_of[thread] = 0
            else:
                self._started += 1
                self._order_of[thread] = self._started

    def _thread_start(self, thread: threading.Thread) -> None:
        # replaces Thread.start while this block is active: number threads in start order
        self._number_thread(thread)
        _ORIGINAL_START(thread)

    def _targets_code(self, code: CodeType, module: object) -> bool:
        known = self._is_target.get(code)
        if known is None:
            known = self._is_target[code] = isinstance(module, str) and self.matcher(module)
        return known


# Releases the GIL for a moment, so a waiting thread takes it, and offers it the CPU.
# time.sleep(0) would do too, but from 3.11 on it is a clock_nanosleep that waits out the
# timer slack: many times slower (benchmarks/preempt_bench.py measures both).
_release_gil: Callable[[], None] = getattr(os, "sched_yield", lambda: time.sleep(0))


def _hand_over(
    run: PreemptionRun, state: _ThreadState, code: CodeType, where: int, is_line: bool
) -> None:
    # Pointless (and costly) when no other thread could take the GIL.
    if threading.active_count() < 2:
        return
    state.switches += 1
    site = (code, where, is_line)
    state.ring.append(site)
    state.sites[site] = state.sites.get(site, 0) + 1
    _release_gil()


# ---- sys.monitoring backend (3.12+) -------------------------------------------------------
class _MonitoringBackend:
    name = "sys.monitoring"

    def __init__(self, run: PreemptionRun) -> None:
        self.run = run
        self.mon: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        self.tool = -1
        self.instrumented: list[CodeType] = []
        self.in_use = False

    def _free_tool(self) -> int:
        mon = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        for tool in (4, 3, 5, 2):
            if mon.get_tool(tool) is None:
                return tool
        raise RuntimeError("no free sys.monitoring tool id for preemption")

    def start(self, frames: list[FrameType]) -> None:
        mon, run = self.mon, self.run
        events = mon.events
        probability = run.probability
        disable = mon.DISABLE
        state_of = run._state

        def on_start(code: CodeType, offset: int) -> object:
            frame = sys._getframe(1)
            if run._targets_code(code, frame.f_globals.get("__name__")):
                self._instrument(code)
            return disable

        def on_instruction(code: CodeType, offset: int) -> object:
            if not run.active:
                return disable
            if threading.Thread is not _THREAD:  # a controlled scheduler runs: see _THREAD
                return None
            state = state_of()
            state.events += 1
            if state.random() < probability:
                _hand_over(run, state, code, offset, False)
            return None

        self.tool = self._free_tool()
        self.instrumented = []
        mon.use_tool_id(self.tool, "cortex.testing.preempt")
        self.in_use = True
        mon.register_callback(self.tool, events.PY_START, on_start)
        mon.register_callback(self.tool, events.INSTRUCTION, on_instruction)
        for frame in frames:
            if run._targets_code(frame.f_code, frame.f_globals.get("__name__")):
                self._instrument(frame.f_code)
        mon.set_events(self.tool, events.PY_START)
        # PY_START of code disabled by an earlier block must fire again for this one.
        mon.restart_events()

    def _instrument(self, code: CodeType) -> None:
        self.mon.set_local_events(self.tool, code, self.mon.events.INSTRUCTION)
        self.instrumented.append(code)

    def stop(self) -> None:
        if not self.in_use:
            return
        self.in_use = False
        mon = self.mon
        mon.set_events(self.tool, 0)
        for code in self.instrumented:
            mon.set_local_events(self.tool, code, 0)
        mon.register_callback(self.tool, mon.events.PY_START, None)
        mon.register_callback(self.tool, mon.events.INSTRUCTION, None)
        mon.free_tool_id(self.tool)


# ---- sys.settrace backend (3.10, 3.11, fallback) ----------------------------------------
class _TraceBackend:
    name = "sys.settrace"

    def __init__(self, run: PreemptionRun) -> None:
        self.run = run
        self.previous: Any = None
        self.previous_threads: Any = None

    def start(self, frames: list[FrameType]) -> None:
        self.previous = sys.gettrace()
        self.previous_threads = threading.gettrace()
        run = self.run
        probability = run.probability
        state_of = run._state

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if not run.active:
                return None
            if event == "opcode" and threading.Thread is _THREAD:
                state = state_of()
                state.events += 1
                if state.random() < probability:
                    _hand_over(run, state, frame.f_code, frame.f_lineno, True)
            return local

        def on_call(frame: FrameType, event: str, arg: Any) -> Any:
            if not run.active or event != "call":
                return None
            if not run._targets_code(frame.f_code, frame.f_globals.get("__name__")):
                return None
            frame.f_trace = local
            frame.f_trace_lines = False
            frame.f_trace_opcodes = True
            return local

        self.local = local
        for frame in frames:
            if run._targets_code(frame.f_code, frame.f_globals.get("__name__")):
                frame.f_trace = local
                frame.f_trace_lines = False
                frame.f_trace_opcodes = True
        threading.settrace(on_call)
        sys.settrace(on_call)

    def stop(self) -> None:
        sys.settrace(self.previous)
        threading.settrace(self.previous_threads)


def _pick_backend(backend: Backend) -> str:
    has_monitoring = hasattr(sys, "monitoring")
    if backend == "monitoring" and not has_monitoring:
        raise RuntimeError("sys.monitoring needs Python 3.12+")
    if backend == "auto":
        return "monitoring" if has_monitoring else "settrace"
    return backend


def _caller_module(depth: int) -> str | None:
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None:
        module = frame.f_globals.get("__name__")
        if isinstance(module, str) and not module.startswith(("contextlib", "cortex.testing")):
            return module
        frame = frame.f_back
    return None


def _activate(run: PreemptionRun, frames: list[FrameType]) -> None:
    def start(thread: threading.Thread) -> None:
        run._thread_start(thread)

    run.active = True
    _THREAD.start = start  # type: ignore[method-assign,assignment]
    run._impl.start(frames)


def _deactivate(run: PreemptionRun) -> None:
    run.active = False
    _THREAD.start = _ORIGINAL_START  # type: ignore[method-assign]
    run._impl.stop()


@contextlib.contextmanager
def preemption(
    probability: float = DEFAULT_PROBABILITY,
    seed: int | None = 0,
    targets: Sequence[str] | None = None,
    *,
    backend: Backend = "auto",
) -> Iterator[PreemptionRun]:
    """Force thread hand-overs between the bytecodes of ``targets`` inside the block.

    ``probability`` is the chance of a hand-over at each instruction of target code;
    ``seed`` makes the per-thread decisions replayable (``None`` draws one, recorded in the
    run); ``targets`` are module names or globs (default: the top-level package of the
    calling code, e.g. ``__main__`` in a notebook). Yields the :class:`PreemptionRun`, whose
    :meth:`~PreemptionRun.report` names the seed and the last hand-over sites per thread.

    A block opened inside another one by the same thread takes over until it ends (the
    outer one is suspended meanwhile: a test with its own block under ``pytest --preempt``);
    from another thread it raises :class:`RuntimeError`.
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be within [0, 1], not {probability!r}")
    if targets is None:
        caller = _caller_module(2)
        if caller is None:
            raise ValueError("preemption(targets=None) could not tell the calling module")
        targets = [caller.partition(".")[0]]
    chosen = _pick_backend(backend)
    if seed is None:
        seed = secrets.randbelow(2**32)
    run = PreemptionRun(float(probability), int(seed), tuple(targets), "")
    with _ACTIVE_LOCK:
        outer = _ACTIVE[-1] if _ACTIVE else None
        if outer is not None and outer._owner != threading.get_ident():
            raise RuntimeError(
                f"a preemption block is active in another thread: {outer.describe()}"
            )
        _ACTIVE.append(run)
    try:
        run._impl = _MonitoringBackend(run) if chosen == "monitoring" else _TraceBackend(run)
        run.backend = run._impl.name
        frames: list[FrameType] = []
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
        if outer is not None:
            _deactivate(outer)
        try:
            run._number_thread(threading.current_thread(), entering=True)
            _activate(run, frames)
            try:
                yield run
            finally:
                _deactivate(run)
        finally:
            if outer is not None:
                _activate(outer, frames)
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.remove(run)


def active_run() -> PreemptionRun | None:
    """The run of the innermost block active now, if any."""
    with _ACTIVE_LOCK:
        return _ACTIVE[-1] if _ACTIVE else None
