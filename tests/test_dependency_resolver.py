"""Dependency resolution: parsing, closures on a hand-written index, caches, engines."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from cortex.demos.interleavings import check_fix, show_race
from cortex.demos.resolver_cache import (
    UnsafeResolutionCache,
    mutate_shared_result,
    race_resolution_cache,
    resolution_model,
)
from cortex.dependency_resolver import (
    APT_HELPER,
    DependencyResolver,
    IndexSource,
    IndexUnavailableError,
    PackageIndex,
    ResolutionCache,
    ResolverPool,
    generate_index_text,
    is_valid_package_name,
    load_index,
    load_system_index,
    parse_packages,
    parse_relation,
    resolve_many,
    system_index_paths,
)

EXPLORES = pytest.mark.thread_unsafe(
    reason="explores interleavings: one exploration or preemption block per process at a time"
)

# A tiny index with every relation kind the resolver handles.
SMALL_INDEX = """\
Package: web
Version: 1.0
Pre-Depends: init-helpers (>= 1.54~)
Depends: libc6 (>= 2.34), libssl3:any, web-common (= 1.0), httpd-mod | apache-mod
Recommends: docs
Description: a web server
 with a continuation line: Depends: not-a-relation

Package: web-common
Depends: libc6, mail-transport-agent

Package: init-helpers
Depends: perl-base

Package: perl-base

Package: libc6
Depends: libgcc-s1

Package: libgcc-s1
Depends: libc6

Package: libssl3
Depends: libc6

Package: apache-mod
Depends: libc6

Package: postfix
Provides: mail-transport-agent
Depends: libc6

Package: exim4
Provides: mail-transport-agent (= 4.96)

Package: docs

Package: broken
Depends: no-such-package, libc6 | also-missing

Package: web
Version: 2.0
Depends: something-else
"""


@pytest.fixture
def index() -> PackageIndex:
    return parse_packages(SMALL_INDEX, source="small")


def test_relations_drop_versions_and_architectures() -> None:
    assert parse_relation("libc6 (>= 2.34), python3:any, a | b (<< 2) [amd64]") == [
        ["libc6"],
        ["python3"],
        ["a", "b"],
    ]
    assert parse_relation("") == []


def test_parse_keeps_the_first_stanza_and_indexes_providers(index: PackageIndex) -> None:
    assert len(index) == 12
    assert index.packages["web"].version == "1.0"  # the second "web" stanza is ignored
    assert index.providers["mail-transport-agent"] == ("exim4", "postfix")
    assert index.knows("mail-transport-agent")
    assert "mail-transport-agent" not in index  # virtual: not a real package


def test_closure_follows_depends_pre_depends_alternatives_and_virtuals(
    index: PackageIndex,
) -> None:
    resolution = DependencyResolver(index).resolve("web")
    assert resolution.closure == (
        "apache-mod",  # httpd-mod does not exist: the second alternative is chosen
        "exim4",  # the first provider of mail-transport-agent by name
        "init-helpers",  # from Pre-Depends
        "libc6",
        "libgcc-s1",  # through a dependency cycle (libc6 <-> libgcc-s1)
        "libssl3",  # ":any" stripped
        "perl-base",
        "web",
        "web-common",
    )
    assert resolution.missing == ()
    assert ("httpd-mod | apache-mod", "apache-mod") in resolution.choices
    assert ("mail-transport-agent", "exim4") in resolution.choices
    assert "docs" not in resolution.closure  # Recommends only on request
    with_recommends = DependencyResolver(index, include_recommends=True).resolve("web")
    assert "docs" in with_recommends.closure


def test_virtual_provider_already_in_the_closure_wins(index: PackageIndex) -> None:
    text = SMALL_INDEX + "\nPackage: mailer\nDepends: postfix, mail-transport-agent\n"
    resolution = DependencyResolver(parse_packages(text)).resolve("mailer")
    assert "postfix" in resolution.closure
    assert "exim4" not in resolution.closure


def test_missing_relations_are_reported_and_unknown_names_raise(index: PackageIndex) -> None:
    resolver = DependencyResolver(index)
    broken = resolver.resolve("broken")
    assert broken.missing == ("no-such-package",)
    assert "libc6" in broken.closure
    assert resolver.resolve("mail-transport-agent").closure[0] == "exim4"
    with pytest.raises(KeyError):
        resolver.resolve("nothing-like-this")


def test_results_are_immutable(index: PackageIndex) -> None:
    resolution = DependencyResolver(index).resolve("web")
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolution.closure = ()  # type: ignore[misc]
    assert isinstance(resolution.closure, tuple)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        *[("nginx", True), ("docker.io", True), ("libstdc++6", True), ("g++", True)],
        *[("x", False), ("Nginx", False), ("-rf", False), ("a;b", False), ("a b", False)],
    ],
)
def test_debian_name_rules(name: str, valid: bool) -> None:
    assert is_valid_package_name(name) is valid


def test_generated_fixture_is_deterministic_and_resolvable() -> None:
    text = generate_index_text(800)
    assert text == generate_index_text(800)
    assert text != generate_index_text(800, seed=1)
    index = parse_packages(text)
    assert len(index) == 800
    resolver = DependencyResolver(index)
    for package in ("nginx", "redis", "postgresql", "docker.io", "nodejs", "mailutils"):
        assert resolver.resolve(package).missing == (), package
    assert "postfix" in resolver.resolve("mailutils").closure or "exim4-daemon-light" in (
        resolver.resolve("mailutils").closure
    )


def test_reading_files_and_their_errors(tmp_path: Path) -> None:
    plain = tmp_path / "x_Packages"
    plain.write_text(SMALL_INDEX, encoding="utf-8")
    assert len(load_system_index([str(plain)])) == 12
    assert system_index_paths(str(tmp_path)) == [str(plain)]
    with pytest.raises(IndexUnavailableError):
        load_system_index([str(tmp_path / "missing_Packages")])
    with pytest.raises(IndexUnavailableError):
        load_system_index([])
    assert len(load_index(IndexSource(paths=(str(plain),)))) == 12


@pytest.mark.skipif(not os.access(APT_HELPER, os.X_OK), reason="no apt-helper here")
def test_lz4_lists_are_read_with_apt_helper() -> None:
    lz4 = [p for p in system_index_paths() if p.endswith(".lz4")]
    if not lz4:
        pytest.skip("no lz4 package lists on this machine")
    smallest = min(lz4, key=os.path.getsize)
    index = load_system_index([smallest])
    assert len(index) > 0
    assert all(is_valid_package_name(name) for name in list(index.packages)[:100])


@pytest.mark.thread_unsafe(reason="starts a process pool; copies in threads would oversubscribe")
def test_engines_give_identical_results(tmp_path: Path) -> None:
    path = tmp_path / "fixture_Packages"
    path.write_text(generate_index_text(600), encoding="utf-8")
    source = IndexSource(paths=(str(path),))
    resolver = DependencyResolver(load_index(source))
    packages = [
        "nginx",
        "redis",
        "postgresql",
        "docker.io",
        "nodejs",
        *list(resolver.index.packages)[-20:],
    ]
    serial = resolve_many(resolver, packages, engine="serial")
    assert resolve_many(resolver, packages, engine="threads", workers=4) == serial
    with ResolverPool(source, workers=2) as pool:
        assert pool.resolve_many(packages) == serial


CACHE = "cortex.demos.resolver_cache"
UTILS = "cortex.utils.thread_utils"


def test_fixed_cache_resolves_once_for_50_threads(index: PackageIndex) -> None:
    outcome = race_resolution_cache(ResolutionCache, DependencyResolver(index), "web")
    assert outcome.safe, outcome


@pytest.mark.twin
def test_unsafe_cache_twin_resolves_many_times() -> None:
    report = show_race(resolution_model(UnsafeResolutionCache), targets=[CACHE], budget=100)
    assert report.found, report.details()
    assert "2 resolutions" in report.error


@EXPLORES
def test_fixed_cache_holds_under_every_explored_schedule() -> None:
    model = resolution_model(ResolutionCache)
    check = check_fix(model, targets=[CACHE, "cortex.dependency_resolver", UTILS], budget=100)
    assert check.held, check.error


@pytest.mark.twin
def test_unsafe_cache_twin_shares_one_mutable_answer(index: PackageIndex) -> None:
    resolver = DependencyResolver(index)
    unsafe = UnsafeResolutionCache(resolver.resolve)
    assert "surprise-package" in mutate_shared_result(unsafe, "web")
    fixed = ResolutionCache(resolver.resolve)
    assert fixed.get("web") is fixed.get("web")
    assert fixed.resolutions == 1
    assert (fixed.hits, fixed.misses) == (1, 1)
