"""Debian dependency resolution: parse a ``Packages`` index and compute install closures.

A pure-Python, CPU-bound workload that Cortex really needs: before it installs ``nginx`` it
must know which packages come with it. It also measures what free threading buys, because
resolving many packages at once is exactly the work that threads cannot share on a GIL
build and can on a free-threaded one.

* :func:`parse_packages` reads the ``Packages`` format (RFC 822-like stanzas): ``Package``,
  ``Version``, ``Depends``, ``Pre-Depends``, ``Recommends``, ``Provides``, ``Section``.
* :func:`load_system_index` reads this machine's ``/var/lib/apt/lists/*_Packages`` files
  (``.lz4`` ones are decompressed by ``/usr/lib/apt/apt-helper cat-file``, run with an
  argument list); :func:`generate_index_text` builds a deterministic fixture of realistic
  size for machines without apt lists; :func:`get_default_index` picks one, once.
* :class:`DependencyResolver` computes closures over ``Depends`` and ``Pre-Depends``
  (``Recommends`` on request), choosing among alternatives ``a | b`` and resolving virtual
  packages through ``Provides``. **Version constraints and architecture qualifiers are
  ignored**: a relation ``libc6 (>= 2.34)`` or ``python3:any`` names the package only. The
  closure answers "what would come with it", not "which version apt would pick".
* :class:`ResolutionCache` shares results between threads. Upstream's caches were checked
  and filled under separate locks (two threads both resolve) and handed the same mutable
  list to every caller; here a miss is single-flight and results are immutable.
* :func:`resolve_many` resolves many packages serially, on a thread pool or on a process
  pool, with identical results.
"""

from __future__ import annotations

import glob
import logging
import multiprocessing
import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cortex.utils.thread_utils import LazySingleton, SingleFlight

__all__ = [
    "ALIAS_NOTES",
    "APT_HELPER",
    "PACKAGE_ALIASES",
    "DependencyResolver",
    "IndexSource",
    "IndexUnavailableError",
    "PackageIndex",
    "PackageRecord",
    "Resolution",
    "ResolutionCache",
    "ResolverPool",
    "Summary",
    "generate_index_text",
    "get_default_index",
    "is_valid_package_name",
    "load_index",
    "load_system_index",
    "parse_packages",
    "parse_relation",
    "resolve_many",
    "summarize",
    "system_index_paths",
]

logger = logging.getLogger(__name__)

APT_HELPER = "/usr/lib/apt/apt-helper"
"""apt's helper program; ``apt-helper cat-file FILE`` decompresses any format apt reads."""
APT_LISTS = "/var/lib/apt/lists"

# Debian Policy 5.6.1: at least two characters, lower-case letters, digits, + - and .,
# starting with a letter or digit; optionally qualified by an architecture, as dpkg and apt
# write multi-arch names (libc6:amd64).
_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9][a-z0-9-]*)?$")

PACKAGE_ALIASES: Mapping[str, str] = {
    "docker": "docker.io",  # Debian's "docker" is wmdocker, a system-tray dock
    "node": "nodejs",
    "postgres": "postgresql",
    "mysql": "default-mysql-server",
    "python": "python3",
    "apache": "apache2",
    "httpd": "apache2",
}
"""What people type -> the Debian package they mean, where the two differ."""

ALIAS_NOTES: Mapping[str, str] = {
    "docker": "Debian's 'docker' package is wmdocker (a system-tray dock); "
    "the Docker engine is packaged as docker.io",
}
"""Why an alias of :data:`PACKAGE_ALIASES` is needed, where it surprises."""

Engine = Literal["serial", "threads", "processes"]


def is_valid_package_name(name: str) -> bool:
    """True when ``name`` follows Debian's rules for package names (Policy 5.6.1).

    An architecture qualifier (``libc6:amd64``) is allowed. This is the one check of a
    package name in Cortex: validation of model commands, the history and transactions all
    use it.
    """
    return bool(_PACKAGE_NAME.match(name))


class IndexUnavailableError(RuntimeError):
    """No package index could be read (missing file, or ``apt-helper`` failed)."""


# --------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------

Relation = tuple[tuple[str, ...], ...]
"""A relation field: a conjunction of alternative groups, each group a tuple of names."""


@dataclass(frozen=True)
class PackageRecord:
    """One stanza of a ``Packages`` file, reduced to what resolution needs."""

    name: str
    version: str = ""
    section: str = ""
    depends: Relation = ()
    pre_depends: Relation = ()
    recommends: Relation = ()
    provides: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackageIndex:
    """Every real package by name, and which real packages provide each virtual name.

    Immutable once built (the dictionaries are never modified after :func:`parse_packages`
    returns), so one index is shared by any number of threads without a lock.
    """

    packages: Mapping[str, PackageRecord]
    providers: Mapping[str, tuple[str, ...]]
    """Virtual (or also-real) name -> real packages whose ``Provides`` name it, sorted."""
    source: str = "unknown"
    """The file paths it was read from, or a description of the generated fixture."""

    def __contains__(self, name: object) -> bool:
        return name in self.packages

    def __len__(self) -> int:
        return len(self.packages)

    def knows(self, name: str) -> bool:
        """True when ``name`` is a real package or a virtual one somebody provides."""
        return name in self.packages or name in self.providers


def parse_relation(value: str) -> list[list[str]]:
    """Parse a relation field such as ``libc6 (>= 2.34), exim4 | mail-transport-agent``.

    Returns one list of alternative names per comma-separated clause.

    Version constraints (``(>= 2.34)``), architecture qualifiers (``:any``) and
    architecture restrictions (``[amd64]``) are dropped: only names are kept.
    """
    return [list(group) for group in _parse_relation(value)]


def _parse_relation(value: str) -> Relation:
    groups: list[tuple[str, ...]] = []
    for clause in value.split(","):
        names: list[str] = []
        for alternative in clause.split("|"):
            token = alternative.strip()
            if not token:
                continue
            name = token.split(None, 1)[0].split("(", 1)[0].split("[", 1)[0]
            name = name.split(":", 1)[0]
            if name:
                names.append(name)
        if names:
            groups.append(tuple(names))
    return tuple(groups)


_WANTED = frozenset(
    {"Package", "Version", "Section", "Depends", "Pre-Depends", "Recommends", "Provides"}
)


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line[0] in " \t":  # continuation lines (descriptions)
                continue
            key, sep, value = line.partition(":")
            if sep and key in _WANTED:
                fields[key] = value.strip()
        if "Package" in fields:
            yield fields


def parse_packages(texts: str | Iterable[str], *, source: str = "text") -> PackageIndex:
    """Build a :class:`PackageIndex` from the text of one or more ``Packages`` files.

    The first stanza seen for a name wins (a later file, or a second version, is ignored).
    """
    packages: dict[str, PackageRecord] = {}
    provided: dict[str, set[str]] = {}
    for text in [texts] if isinstance(texts, str) else texts:
        for fields in _stanzas(text):
            name = fields["Package"]
            if name in packages:
                continue
            provides = tuple(g[0] for g in _parse_relation(fields.get("Provides", "")))
            packages[name] = PackageRecord(
                name=name,
                version=fields.get("Version", ""),
                section=fields.get("Section", ""),
                depends=_parse_relation(fields.get("Depends", "")),
                pre_depends=_parse_relation(fields.get("Pre-Depends", "")),
                recommends=_parse_relation(fields.get("Recommends", "")),
                provides=provides,
            )
            for virtual in provides:
                provided.setdefault(virtual, set()).add(name)
    providers = {virtual: tuple(sorted(names)) for virtual, names in provided.items()}
    return PackageIndex(packages=packages, providers=providers, source=source)


def system_index_paths(lists_dir: str = APT_LISTS) -> list[str]:
    """This machine's ``*_Packages`` files (plain or ``.lz4``), sorted; empty if none."""
    found = glob.glob(os.path.join(glob.escape(lists_dir), "*_Packages"))
    found += glob.glob(os.path.join(glob.escape(lists_dir), "*_Packages.lz4"))
    return sorted(found)


def _read_packages_file(path: str) -> str:
    if path.endswith(".lz4"):
        if not os.access(APT_HELPER, os.X_OK):
            raise IndexUnavailableError(f"{path} is lz4-compressed and {APT_HELPER} is missing")
        completed = subprocess.run(
            [APT_HELPER, "cat-file", path], capture_output=True, timeout=120, check=False
        )
        if completed.returncode != 0:
            detail = completed.stderr.decode("utf-8", "replace").strip()
            raise IndexUnavailableError(f"apt-helper cat-file {path} failed: {detail}")
        return completed.stdout.decode("utf-8", "replace")
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise IndexUnavailableError(f"cannot read package index {path}: {exc}") from exc


def load_system_index(paths: Sequence[str] | None = None) -> PackageIndex:
    """Parse this machine's apt lists (or the given ``Packages`` files).

    Raises:
        IndexUnavailableError: no file found, or one could not be read.
    """
    chosen = list(paths) if paths is not None else system_index_paths()
    if not chosen:
        raise IndexUnavailableError(f"no *_Packages files under {APT_LISTS}")
    return parse_packages((_read_packages_file(p) for p in chosen), source=", ".join(chosen))


# --------------------------------------------------------------------------------------
# A deterministic fixture of realistic size
# --------------------------------------------------------------------------------------

# Packages people ask Cortex for, with hand-written relations that mimic Debian's (the
# names below them are generated). Each maps to (Depends, Pre-Depends, Provides, Section).
_CURATED: dict[str, tuple[str, str, str, str]] = {
    "libc6": ("libgcc-s1", "", "", "libs"),
    "libgcc-s1": ("gcc-12-base, libc6", "", "", "libs"),
    "gcc-12-base": ("", "", "", "libs"),
    "zlib1g": ("libc6 (>= 2.14)", "", "libz1", "libs"),
    "libssl3": ("libc6 (>= 2.34)", "", "", "libs"),
    "adduser": ("passwd", "", "", "admin"),
    "passwd": ("libc6, libpam0g", "", "", "admin"),
    "libpam0g": ("libc6", "", "", "libs"),
    "lsb-base": ("sysvinit-utils", "", "", "misc"),
    "sysvinit-utils": ("libc6", "", "", "admin"),
    "init-system-helpers": ("perl-base", "", "", "admin"),
    "perl-base": ("libc6", "", "perlapi-5.36.0", "perl"),
    "iproute2": ("libc6, libmnl0", "", "arpd", "net"),
    "libmnl0": ("libc6", "", "", "libs"),
    "nginx-common": ("lsb-base, iproute2", "", "", "httpd"),
    "nginx": (
        "libc6 (>= 2.34), libssl3 (>= 3.0.0), zlib1g, iproute2, nginx-common (= 1.22.1)",
        "",
        "httpd, httpd-cgi",
        "httpd",
    ),
    "apache2": ("libc6, libssl3, lsb-base", "", "httpd, httpd-cgi", "httpd"),
    "redis-tools": ("adduser, libc6, libssl3, libjemalloc2", "", "", "database"),
    "libjemalloc2": ("libc6", "", "", "libs"),
    "redis-server": ("lsb-base, redis-tools (= 5:7.0.15)", "", "", "database"),
    "redis": ("redis-server (>= 5:7.0.15)", "", "", "database"),
    "postgresql-common": ("adduser, lsb-base, perl:any, ssl-cert", "", "", "database"),
    "perl": ("perl-base", "", "", "perl"),
    "ssl-cert": ("adduser, openssl", "", "", "utils"),
    "openssl": ("libc6, libssl3", "", "", "utils"),
    "libpq5": ("libc6, libssl3, libgssapi-krb5-2", "", "", "libs"),
    "libgssapi-krb5-2": ("libc6", "", "", "libs"),
    "postgresql-client-15": ("libpq5, postgresql-client-common", "", "postgresql-client", "db"),
    "postgresql-client-common": ("netbase", "", "", "database"),
    "netbase": ("", "", "", "admin"),
    "postgresql-15": (
        "libc6, libssl3, libpq5, postgresql-client-15, postgresql-common (>= 229), tzdata",
        "",
        "postgresql-contrib-15",
        "database",
    ),
    "tzdata": ("debconf (>= 0.5) | debconf-2.0", "", "", "localization"),
    "debconf": ("perl-base", "", "debconf-2.0", "admin"),
    "postgresql": ("postgresql-15", "", "", "database"),
    "containerd": ("libc6, runc (>= 1.0.0~rc2~)", "", "", "admin"),
    "runc": ("libc6, libseccomp2", "", "", "devel"),
    "libseccomp2": ("libc6", "", "", "libs"),
    "iptables": ("libc6, libip4tc2, netbase", "", "", "net"),
    "libip4tc2": ("libc6", "", "", "libs"),
    "tini": ("libc6", "", "", "utils"),
    "docker.io": (
        "libc6, adduser, containerd (>= 1.4~), iptables, lsb-base, runc, tini",
        "init-system-helpers (>= 1.54~)",
        "docker-engine",
        "admin",
    ),
    "docker": ("wmdocker", "", "", "x11"),
    "wmdocker": ("libc6, libx11-6", "", "", "x11"),
    "libx11-6": ("libc6, libxcb1", "", "", "libs"),
    "libxcb1": ("libc6", "", "", "libs"),
    "libnode108": ("libc6, libssl3, zlib1g, libuv1", "", "", "libs"),
    "libuv1": ("libc6", "", "", "libs"),
    "nodejs": ("libc6 (>= 2.34), libnode108 (= 18.20.4)", "", "", "web"),
    "npm": ("nodejs:any", "", "", "javascript"),
    "exim4-daemon-light": ("libc6, exim4-base", "", "mail-transport-agent", "mail"),
    "exim4-base": ("adduser", "", "", "mail"),
    "postfix": ("libc6, adduser, netbase", "", "mail-transport-agent", "mail"),
    "mailutils": ("libc6, default-mta | mail-transport-agent", "", "", "mail"),
    "curl": ("libc6, libcurl4 (= 7.88.1), zlib1g", "", "", "web"),
    "libcurl4": ("libc6, libssl3, zlib1g", "", "", "libs"),
    "git": ("libc6, libcurl3-gnutls, perl, zlib1g", "", "git-core", "vcs"),
    "libcurl3-gnutls": ("libc6, zlib1g", "", "", "libs"),
    "python3": ("python3.11 (>= 3.11.2-1~)", "", "python3-profiler", "python"),
    "python3.11": ("python3.11-minimal, libpython3.11-stdlib", "", "", "python"),
    "python3.11-minimal": ("libc6, zlib1g", "", "", "python"),
    "libpython3.11-stdlib": ("libc6, libssl3", "", "", "python"),
    "mysql-server": ("default-mysql-server", "", "", "database"),
    "default-mysql-server": ("mariadb-server", "", "", "database"),
    "mariadb-server": ("libc6, libssl3, adduser, perl", "", "virtual-mysql-server", "database"),
}


def generate_index_text(packages: int = 60_000, *, seed: int = 20251201) -> str:
    """A deterministic ``Packages`` file: the curated packages above plus generated ones.

    The generated part mimics bookworm's shape (about 63,000 stanzas): libraries in layers,
    each depending on a few packages from lower layers, some alternatives ``a | b`` and some
    virtual names with several providers. The same arguments always give the same text.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible fixture, not crypto
    stanzas: list[str] = []

    def stanza(name: str, depends: str, pre: str, provides: str, section: str) -> str:
        lines = [f"Package: {name}", "Architecture: amd64", "Version: 1.0-1"]
        if provides:
            lines.append(f"Provides: {provides}")
        if pre:
            lines.append(f"Pre-Depends: {pre}")
        if depends:
            lines.append(f"Depends: {depends}")
        lines += [
            f"Section: {section}",
            "Priority: optional",
            f"Description: {name} (generated fixture)",
            " A package generated by cortex.dependency_resolver for tests and benchmarks.",
            " .",
            " Its relations mimic the layered shape of the Debian archive.",
        ]
        return "\n".join(lines)

    for name, (depends, pre, provides, section) in _CURATED.items():
        stanzas.append(stanza(name, depends, pre, provides, section))

    generated = max(0, packages - len(_CURATED))
    layers = 8
    names: list[list[str]] = [[] for _ in range(layers)]
    base = ["libc6", "zlib1g", "libssl3", "libgcc-s1"]
    virtuals = [f"virtual-service-{i}" for i in range(max(1, generated // 400))]
    for index in range(generated):
        layer = min(layers - 1, int(rng.random() ** 0.7 * layers))
        kind = "lib" if layer < layers // 2 else rng.choice(["app", "tool", "python3-", "node-"])
        name = f"{kind}gen{index}" if kind in {"python3-", "node-"} else f"{kind}gen-{index}"
        lower = [n for level in names[:layer] for n in level[-200:]] or base
        relations = [rng.choice(base)]
        for _ in range(rng.randint(1, 6)):
            target = rng.choice(lower)
            if rng.random() < 0.08:
                relations.append(f"{target} | {rng.choice(lower)}")
            elif rng.random() < 0.05:
                relations.append(f"{target} | {rng.choice(virtuals)}")
            else:
                relations.append(f"{target} (>= 1.0)")
        provides = rng.choice(virtuals) if rng.random() < 0.03 else ""
        section = "libs" if kind == "lib" else rng.choice(["utils", "admin", "net", "web"])
        stanzas.append(stanza(name, ", ".join(dict.fromkeys(relations)), "", provides, section))
        names[layer].append(name)
    return "\n\n".join(stanzas) + "\n"


@dataclass(frozen=True)
class IndexSource:
    """How to (re)load an index: a list of files, or the generated fixture.

    Small and picklable, so a process pool's workers can each load the same index.
    """

    paths: tuple[str, ...] = ()
    fixture_packages: int = 60_000
    fixture_seed: int = 20251201

    @classmethod
    def default(cls) -> IndexSource:
        """This machine's apt lists when present, else the generated fixture."""
        return cls(paths=tuple(system_index_paths()))

    def describe(self) -> str:
        """Where the index comes from, for messages."""
        if self.paths:
            return ", ".join(self.paths)
        return f"generated fixture ({self.fixture_packages} packages, seed {self.fixture_seed})"


def load_index(source: IndexSource) -> PackageIndex:
    """Load the index ``source`` describes (files when given, else the fixture)."""
    if source.paths:
        return load_system_index(source.paths)
    text = generate_index_text(source.fixture_packages, seed=source.fixture_seed)
    return parse_packages(text, source=source.describe())


_default_index: LazySingleton[PackageIndex] = LazySingleton(
    lambda: load_index(IndexSource.default()), name="default package index"
)


def get_default_index() -> PackageIndex:
    """The process-wide index: this machine's apt lists, or the generated fixture.

    Parsed once (about a second for bookworm's 63,000 stanzas), even if many threads ask
    at the same moment.
    """
    return _default_index.get()


# --------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """The install closure of one package. Immutable: safe to share between callers."""

    package: str
    closure: tuple[str, ...]
    """Every real package that would be installed, the package itself included, sorted."""
    missing: tuple[str, ...] = ()
    """Relations nothing in the index satisfies (sorted)."""
    choices: tuple[tuple[str, str], ...] = ()
    """``(relation, chosen package)`` for each alternative or virtual name decided."""

    @property
    def size(self) -> int:
        """Number of packages in the closure."""
        return len(self.closure)


class DependencyResolver:
    """Computes install closures over one immutable :class:`PackageIndex`.

    Holds no mutable state, so one resolver is shared freely between threads. Choices:
    among alternatives the first real package wins; a virtual name goes to a provider
    already in the closure if there is one, else to the first provider by name.
    """

    def __init__(self, index: PackageIndex, *, include_recommends: bool = False) -> None:
        self.index = index
        self.include_recommends = include_recommends

    def _relations(self, record: PackageRecord) -> Relation:
        if self.include_recommends:
            return record.pre_depends + record.depends + record.recommends
        return record.pre_depends + record.depends

    def _choose(self, group: tuple[str, ...], closure: set[str]) -> str | None:
        packages = self.index.packages
        for name in group:
            if name in packages:
                return name
        for name in group:
            providers = self.index.providers.get(name, ())
            for provider in providers:
                if provider in closure:
                    return provider
            if providers:
                return providers[0]
        return None

    def resolve(self, package: str) -> Resolution:
        """The closure of ``package``.

        Raises:
            KeyError: ``package`` is neither a real package nor provided by one.
        """
        root = self._choose((package,), set())
        if root is None:
            raise KeyError(package)
        closure: set[str] = {root}
        missing: set[str] = set()
        choices: dict[str, str] = {}
        if root != package:
            choices[package] = root
        stack = [root]
        packages = self.index.packages
        while stack:
            record = packages[stack.pop()]
            for group in self._relations(record):
                if len(group) == 1 and group[0] in closure:
                    continue
                chosen = self._choose(group, closure)
                if chosen is None:
                    missing.add(" | ".join(group))
                    continue
                if len(group) > 1 or chosen != group[0]:
                    choices.setdefault(" | ".join(group), chosen)
                if chosen not in closure:
                    closure.add(chosen)
                    stack.append(chosen)
        return Resolution(
            package=package,
            closure=tuple(sorted(closure)),
            missing=tuple(sorted(missing)),
            choices=tuple(sorted(choices.items())),
        )


Summary = tuple[str, int, int]
"""``(package, closure size, unsatisfied relations)``: what a resolution costs to send."""


def summarize(resolution: Resolution) -> Summary:
    """The compact form of a resolution (cheap to send between processes)."""
    return (resolution.package, resolution.size, len(resolution.missing))


class ResolutionCache:
    """A resolution cache shared by threads: each package is resolved once.

    The fix for upstream's pattern (check the cache under one lock, resolve, fill it under
    another: two threads that miss together both resolve). A miss goes through
    :class:`~cortex.utils.thread_utils.SingleFlight`, so concurrent callers for the same
    package wait for one resolution; results are frozen :class:`Resolution` objects, so no
    caller can change what another one sees.
    """

    def __init__(self, resolve: Callable[[str], Resolution]) -> None:
        self._resolve = resolve
        self._flight: SingleFlight[str, Resolution] = SingleFlight()
        # Guards _results and the counters; never held while resolving.
        self._lock = threading.Lock()
        self._results: dict[str, Resolution] = {}
        self.hits = 0
        self.misses = 0
        self.resolutions = 0

    def _resolve_and_store(self, package: str) -> Resolution:
        with self._lock:
            cached = self._results.get(package)  # a leader that finished just before us
        if cached is not None:
            return cached
        result = self._resolve(package)
        with self._lock:
            self.resolutions += 1
            self._results[package] = result
        return result

    def get(self, package: str) -> Resolution:
        """The resolution of ``package``, computed at most once."""
        with self._lock:
            cached = self._results.get(package)
            if cached is not None:
                self.hits += 1
                return cached
            self.misses += 1
        return self._flight.do(package, lambda: self._resolve_and_store(package))

    def __len__(self) -> int:
        with self._lock:
            return len(self._results)


# --------------------------------------------------------------------------------------
# Many packages at once
# --------------------------------------------------------------------------------------

# Per worker process: the resolver built by _init_process_worker (one per process).
_process_resolver: DependencyResolver | None = None


def _init_process_worker(source: IndexSource, include_recommends: bool) -> None:
    global _process_resolver  # noqa: PLW0603 - one resolver per worker process, set once
    _process_resolver = DependencyResolver(
        load_index(source), include_recommends=include_recommends
    )


def _resolve_in_process(package: str) -> Resolution:
    if _process_resolver is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker process was not initialised")
    return _process_resolver.resolve(package)


def _summary_in_process(package: str) -> Summary:
    return summarize(_resolve_in_process(package))


def _warm_process(delay: float) -> int:
    time.sleep(delay)  # keeps this worker busy so that each warm-up call lands elsewhere
    return os.getpid()


@dataclass
class ResolverPool:
    """A process pool whose workers each hold the index; reuse it across calls.

    Starting the processes and parsing the index in each costs seconds for the real index,
    so benchmarks start the pool once (:meth:`warm`) and time :meth:`resolve_many` only.
    """

    source: IndexSource
    workers: int
    include_recommends: bool = False
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> ResolverPool:
        # Never fork a process that has threads (deadlock-prone, deprecated since 3.12):
        # forkserver where it exists (the default from 3.14 on Linux), else spawn.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_init_process_worker,
            initargs=(self.source, self.include_recommends),
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def warm(self, delay: float = 0.3) -> int:
        """Start every worker (each loads the index); return how many answered."""
        assert self._pool is not None, "use ResolverPool as a context manager"
        pids = set(self._pool.map(_warm_process, [delay] * self.workers))
        return len(pids)

    def resolve_many(self, packages: Sequence[str]) -> list[Resolution]:
        """Resolve ``packages`` across the worker processes; results in input order."""
        assert self._pool is not None, "use ResolverPool as a context manager"
        chunk = max(1, len(packages) // (self.workers * 4))  # few round trips per worker
        return list(self._pool.map(_resolve_in_process, packages, chunksize=chunk))

    def summaries(self, packages: Sequence[str]) -> list[Summary]:
        """As :meth:`resolve_many`, returning only :func:`summarize` of each (less to copy)."""
        assert self._pool is not None, "use ResolverPool as a context manager"
        chunk = max(1, len(packages) // (self.workers * 4))
        return list(self._pool.map(_summary_in_process, packages, chunksize=chunk))


def resolve_many(
    resolver: DependencyResolver,
    packages: Sequence[str],
    *,
    engine: Engine = "threads",
    workers: int = 4,
    source: IndexSource | None = None,
) -> list[Resolution]:
    """Resolve ``packages`` serially, on ``workers`` threads or on ``workers`` processes.

    Results come back in input order and are identical for every engine. ``processes``
    starts a fresh :class:`ResolverPool` (each worker loads ``source``, by default
    :meth:`IndexSource.default`); hold a :class:`ResolverPool` yourself to reuse one.
    """
    if engine == "serial":
        return [resolver.resolve(p) for p in packages]
    if engine == "threads":
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resolve") as pool:
            return list(pool.map(resolver.resolve, packages))
    with ResolverPool(source or IndexSource.default(), workers, resolver.include_recommends) as rp:
        return rp.resolve_many(packages)
