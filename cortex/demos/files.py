"""File races: upstream's in-place writes and per-instance locks beside the fix.

Two unsafe patterns the audit found in ``hardware_detection``, ``config_manager`` and
``notification_manager``:

* **In-place rewrite**: ``open(path, "w")`` truncates the file, then the new content is
  written. A reader in between (another thread, another process) sees an empty or half
  file; a crash in between leaves it so for good. :func:`unsafe_write_text` is the twin.
* **Per-instance lock**: ``self._lock = threading.Lock()`` guards a read-modify-write of a
  file that every instance and every process shares. Two instances, or two processes, hold
  two different locks and overwrite each other's updates. :class:`UnsafeJsonFile` and
  :class:`UnsafePreferences` are the twins.

The fixes are :func:`cortex.utils.atomic_file.atomic_write_text` and
:func:`cortex.utils.locked_file.update_json` (or ``update_yaml``). The twins are upstream's
code as written, with no sleep: these races live in the file system, where every
``open``, ``read`` and ``write`` releases the GIL, so real threads and real processes show
them on any build (an explorer that controls Python bytecodes would not: it runs each
system call as one step). Process workers are module-level functions so that
``multiprocessing``'s ``spawn`` start method can import them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cortex.demos.harness import run_together
from cortex.demos.ledger import LEDGER, area_for
from cortex.utils.atomic_file import atomic_write_text

if TYPE_CHECKING:
    from types import ModuleType


def _lf() -> ModuleType:
    """:mod:`cortex.utils.locked_file`, imported on first use.

    It pulls in ``filelock`` and ``yaml`` (about 0.1 s); the crash tests start a writer
    process per trial and the in-place and atomic writers need neither.
    """
    from cortex.utils import locked_file  # noqa: PLC0415

    return locked_file


__all__ = [
    "CounterStore",
    "SafeJsonFile",
    "TornReadOutcome",
    "UnsafeHardwareCache",
    "UnsafeJsonFile",
    "UnsafePreferences",
    "count_detections",
    "count_in_processes",
    "count_in_threads",
    "detect_worker",
    "increment_worker",
    "torn_reads",
    "unsafe_write_text",
    "writes_per_second",
]

COUNTER_KEY = "counter"


def unsafe_write_text(path: str | os.PathLike[str], text: str) -> None:
    """The unsafe twin of an atomic write: truncate in place, then write.

    Upstream's cache and preference writes (``cortex/hardware_detection.py`` lines 312-313,
    ``cortex/notification_manager.py`` lines 69-70): ``open(path, "w")`` empties the file
    at once and the new content arrives later, so a reader in between, or a crash, finds an
    empty or half-written file.
    """
    with open(path, "w", encoding="utf-8") as handle:  # truncates: the old content is gone
        handle.write(text)


class CounterStore(Protocol):
    """A JSON file holding ``{"counter": n}`` that can be incremented."""

    def increment(self) -> None:
        """Add one to the counter in the file."""
        ...


class UnsafeJsonFile:
    """Upstream's pattern: a lock per *instance* around an in-place read-modify-write.

    A JSON file that cannot be parsed reads as ``{}``, as upstream's loaders did, so a
    torn file silently resets the data. Do not use; it exists to be caught.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Guards this instance's read-modify-write only: every other instance, and every
        # other process, has its own lock. That is the bug.
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        """The document, or ``{}`` when the file is missing or unparsable (upstream)."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                value = json.load(handle)
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def increment(self) -> None:
        """Read, add one, write back in place (upstream ``notification_manager.py`` 52-53)."""
        with self._lock:
            data = self.read()
            data[COUNTER_KEY] = int(data.get(COUNTER_KEY, 0)) + 1
            with open(self.path, "w", encoding="utf-8") as handle:
                json.dump(data, handle)


class SafeJsonFile:
    """The fix with the same call shape: :func:`~cortex.utils.locked_file.update_json`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def increment(self) -> None:
        """Read, add one, write atomically: all under the cross-process lock."""

        def add_one(data: dict[str, Any]) -> dict[str, Any]:
            data[COUNTER_KEY] = int(data.get(COUNTER_KEY, 0)) + 1
            return data

        _lf().update_json(self.path, add_one)


class UnsafePreferences:
    """Upstream's preferences store: YAML, per-instance lock, in-place write. Unsafe twin.

    Upstream: ``cortex/config_manager.py``, ``_save_preferences`` (line 302 writes the file
    in place) under the instance's own ``threading.Lock``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Guards this instance only (see UnsafeJsonFile).
        self._lock = threading.Lock()

    def load(self) -> dict[str, Any]:
        """The preferences, or ``{}`` when missing or unparsable (upstream's behaviour)."""
        try:
            value = _lf().parse_yaml(self.path, self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def increment(self) -> None:
        """Add one to the ``counter`` preference: load, add, write in place."""
        with self._lock:
            prefs = self.load()
            prefs[COUNTER_KEY] = int(prefs.get(COUNTER_KEY, 0)) + 1
            self.path.write_bytes(_lf().dump_yaml(prefs))


def _read_counter(path: Path, *, kind: str = "safe") -> int:
    """The counter in ``path``. A twin's torn file reads as 0 (everything lost), as the
    twin's own loader would read it; a fixed store's torn file raises."""
    if kind.startswith("unsafe"):
        try:
            return _read_counter(path)
        except _lf().CorruptFileError:
            return 0
    if path.suffix in {".yaml", ".yml"}:
        value = _lf().parse_yaml(path, path.read_bytes()) if path.exists() else {}
        return int((value or {}).get(COUNTER_KEY, 0))
    return int(_lf().read_json(path, default={}).get(COUNTER_KEY, 0))


def _store(kind: str, path: Path) -> CounterStore:
    if kind == "unsafe":
        return UnsafeJsonFile(path)
    if kind == "safe":
        return SafeJsonFile(path)
    if kind == "unsafe-prefs":
        return UnsafePreferences(path)
    if kind == "safe-prefs":
        from cortex.config_manager import ConfigManager  # noqa: PLC0415 - avoids a cycle

        return _PreferencesCounter(ConfigManager(config_dir=path.parent))
    raise ValueError(f"unknown store kind {kind!r}")


class _PreferencesCounter:
    """The fixed preferences store (ConfigManager) with the CounterStore call shape."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def increment(self) -> None:
        def add_one(prefs: dict[str, Any]) -> dict[str, Any]:
            prefs[COUNTER_KEY] = int(prefs.get(COUNTER_KEY, 0)) + 1
            return prefs

        self.manager.update_preferences(add_one)


def count_in_threads(
    kind: str,
    path: str | os.PathLike[str],
    *,
    threads: int = 8,
    increments: int = 10,
) -> int:
    """``threads`` threads, each with its *own* store instance, increment ``increments``
    times; return the final counter (the exact answer is ``threads * increments``).

    ``kind`` is ``"unsafe"`` / ``"safe"`` (JSON) or ``"unsafe-prefs"`` / ``"safe-prefs"``
    (``preferences.yaml``).
    """
    target = Path(path)

    def work(_index: int) -> None:
        store = _store(kind, target)  # one instance per thread, as in the app
        for _ in range(increments):
            store.increment()

    run_together(work, threads)
    return _read_counter(target, kind=kind)


def increment_worker(kind: str, path: str, increments: int, barrier: Any | None = None) -> None:
    """Process entry point: wait on ``barrier``, then increment ``increments`` times."""
    store = _store(kind, Path(path))
    if barrier is not None:
        barrier.wait(timeout=60)
    for _ in range(increments):
        store.increment()


def count_in_processes(
    kind: str,
    path: str | os.PathLike[str],
    *,
    processes: int = 2,
    increments: int = 20,
) -> int:
    """Like :func:`count_in_threads`, with ``processes`` spawned processes released together.

    Raises:
        RuntimeError: a worker process failed or hung.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    workers = [
        context.Process(target=increment_worker, args=(kind, os.fspath(path), increments, barrier))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    failed = [w.exitcode for w in workers if w.exitcode != 0]
    for worker in workers:
        if worker.is_alive():  # pragma: no cover - only when something hung
            worker.kill()
            worker.join()
        worker.close()
    if failed:
        raise RuntimeError(f"worker processes failed with exit codes {failed}")
    found = _read_counter(Path(path), kind=kind)
    expected = processes * increments
    LEDGER.add(
        area_for("files", fixed=kind in {"safe", "safe-prefs"}),
        processes=processes,
        operations=expected,
        data_lost=max(expected - found, 0),  # measured: increments missing from the file
    )
    return found


@dataclass(frozen=True)
class TornReadOutcome:
    """What readers saw while a writer rewrote a file."""

    writes: int
    reads: int
    torn: int
    """Reads that found something other than a complete old or new document."""

    @property
    def safe(self) -> bool:
        """True when no read was torn."""
        return self.torn == 0


def _document(version: int, size: int) -> str:
    return json.dumps({"version": version, "payload": "x" * size})


def torn_reads(
    writer: Callable[[Path, str], None],
    path: str | os.PathLike[str],
    *,
    writes: int = 40,
    readers: int = 4,
    size: int = 20_000,
) -> TornReadOutcome:
    """Rewrite ``path`` ``writes`` times with ``writer`` while ``readers`` threads parse it.

    ``writer(path, text)`` is :func:`unsafe_write_text` or
    :func:`~cortex.utils.atomic_file.atomic_write_text`. Every complete document is valid
    JSON with a ``version``; a read that fails to parse or finds no version is torn.
    """
    target = Path(path)
    atomic_write_text(target, _document(0, size))
    done = threading.Event()
    counts = [0, 0]  # reads, torn: written only under counts_lock
    counts_lock = threading.Lock()  # guards counts

    def read_loop() -> None:
        reads = torn = 0
        while not done.is_set():
            try:
                ok = "version" in json.loads(target.read_text(encoding="utf-8"))
            except ValueError:
                ok = False
            reads += 1
            torn += not ok
        with counts_lock:
            counts[0] += reads
            counts[1] += torn

    def role(index: int) -> None:
        if index < readers:
            read_loop()
            return
        try:
            for version in range(1, writes + 1):
                writer(target, _document(version, size))
        finally:
            done.set()

    run_together(role, readers + 1)
    return TornReadOutcome(writes=writes, reads=counts[0], torn=counts[1])


def writes_per_second(write: Callable[[], None], *, seconds: float = 0.3, repeat: int = 5) -> float:
    """How many times ``write()`` completes per second: the best of ``repeat`` runs of about
    ``seconds`` each (the best run is the one least disturbed by other work)."""
    best = 0.0
    for _ in range(repeat):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            write()
            count += 1
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, count / (now - start))
    return best


class UnsafeHardwareCache:
    """Upstream's hardware cache: a lock per detector, the file checked then written in place.

    Every detector instance (and every process) has its own lock, so all of them find the
    cache missing and all of them detect. Do not use; it exists to be caught.
    """

    def __init__(self, cache_path: str | os.PathLike[str], detect: Callable[[], Any]) -> None:
        self.cache_path = Path(cache_path)
        self._detect = detect
        # Guards this instance's check-detect-write only (the bug: not the shared file).
        self._lock = threading.Lock()

    def detect(self) -> Any:
        """Load the cache if present, else detect and write it in place."""
        with self._lock:
            try:
                return json.loads(self.cache_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                pass
            info = self._detect()
            with open(self.cache_path, "w", encoding="utf-8") as handle:
                json.dump(info, handle)
            return info


def _counting_detection(counter_path: Path) -> Callable[[], Any]:
    """This machine's real detection (``/proc``, ``lspci``...), counted: one line per run."""
    from cortex.hardware_detection import HardwareDetector  # noqa: PLC0415 - avoids a cycle

    real = HardwareDetector(use_cache=False, cache_path=counter_path.with_suffix(".unused"))

    def detect() -> Any:
        info = real._detect_uncached()  # the real work, with its real duration
        with open(counter_path, "a", encoding="utf-8") as handle:  # O_APPEND: whole lines
            handle.write(f"{os.getpid()}\n")
        return info

    return detect


def detect_worker(
    kind: str, cache_path: str, counter_path: str, barrier: Any | None = None
) -> None:
    """One detector (fixed ``"safe"`` or twin ``"unsafe"``) detecting once, after ``barrier``.

    Thread and process entry point for :func:`count_detections`.
    """
    detection = _counting_detection(Path(counter_path))
    if kind == "safe":
        from cortex.hardware_detection import HardwareDetector  # noqa: PLC0415

        detector = HardwareDetector(cache_path=cache_path)
        detector._detect_uncached = detection  # type: ignore[method-assign]
        run: Callable[[], Any] = detector.detect
    elif kind == "unsafe":
        twin = UnsafeHardwareCache(cache_path, lambda: detection().to_dict())
        run = twin.detect
    else:
        raise ValueError(f"unknown detector kind {kind!r}")
    if barrier is not None:
        barrier.wait(timeout=60)
    run()


def count_detections(
    kind: str,
    directory: str | os.PathLike[str],
    *,
    threads: int = 0,
    processes: int = 0,
) -> int:
    """Start ``threads`` threads or ``processes`` processes, each with its *own* detector,
    on an empty cache; return how many detections ran (the fix: exactly one)."""
    folder = Path(directory)
    cache_path = folder / "hardware_cache.json"
    counter_path = folder / "detections.txt"
    args = (kind, os.fspath(cache_path), os.fspath(counter_path))
    if threads:
        run_together(lambda _i: detect_worker(*args), threads)
    if processes:
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(processes)
        workers = [
            context.Process(target=detect_worker, args=(*args, barrier)) for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        failed = [w.exitcode for w in workers if w.exitcode != 0]
        for worker in workers:
            worker.close()
        if failed:
            raise RuntimeError(f"worker processes failed with exit codes {failed}")
        # Extra detections are wasted work, not lost data: nothing to add to data_lost.
        LEDGER.add(
            area_for("files", fixed=kind == "safe"), processes=processes, operations=processes
        )
    if not counter_path.exists():
        return 0
    return len(counter_path.read_text(encoding="utf-8").splitlines())
