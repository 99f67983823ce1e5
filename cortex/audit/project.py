"""Facts that cross module boundaries, gathered from every file of one audit run.

A write inside ``with pool.get_connection() as conn:`` is committed or not depending on
what ``get_connection`` does, and that is usually written in another module. The index
records, for every context manager defined in the scanned files (a ``@contextmanager``
generator, or a class with ``__exit__``), whether it commits, so that the SQLite check can
judge the write where it happens rather than assume.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from cortex.audit._context import last_name, walk_local

__all__ = ["Checkout", "ProjectIndex"]


@dataclass(frozen=True)
class Checkout:
    """One context manager definition found in the scanned files."""

    name: str
    """The function or class name (what ``with x.NAME(...)`` calls)."""
    path: str
    line: int
    commits: bool
    """True when its body calls ``commit()`` or opens a ``with conn:`` transaction."""


@dataclass
class ProjectIndex:
    """Context managers by name, over every module of one run."""

    checkouts: dict[str, list[Checkout]] = field(default_factory=dict)
    locked_updates: dict[str, set[str]] = field(default_factory=dict)
    """Class name -> ``self.x`` attributes updated in place (``+=``) inside a ``with``
    block on a lock somewhere in that class: state its author guards with a lock."""
    bases: dict[str, set[str]] = field(default_factory=dict)
    """Class name -> the names of its bases."""

    def add_module(self, tree: ast.Module, path: str) -> None:
        """Record the context managers ``tree`` defines."""
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorated = any(
                    last_name(d) in {"contextmanager", "asynccontextmanager"}
                    for d in node.decorator_list
                )
                yields = any(isinstance(n, ast.Yield) for n in walk_local(node))
                if decorated and yields:
                    self._add(Checkout(node.name, path, node.lineno, _commits(node)))
            if isinstance(node, ast.ClassDef):
                self.bases.setdefault(node.name, set()).update(
                    last_name(b) for b in node.bases if last_name(b)
                )
                updates = _locked_augassigns(node)
                if updates:
                    self.locked_updates.setdefault(node.name, set()).update(updates)
                exits = [
                    m
                    for m in node.body
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and m.name in {"__exit__", "__aexit__"}
                ]
                if exits:
                    commits = any(_commits(m) for m in exits)
                    self._add(Checkout(node.name, path, node.lineno, commits))

    def is_thread_class(self, name: str) -> bool:
        """True when class ``name`` derives, through classes of the run, from ``Thread``
        (``threading.Thread`` or a class named so): an instance runs its callbacks on a
        thread of its own."""
        seen: set[str] = set()
        pending = list(self.bases.get(name, ()))
        while pending:
            base = pending.pop()
            if base == "Thread":
                return True
            if base in seen:
                continue
            seen.add(base)
            pending.extend(self.bases.get(base, ()))
        return False

    def _add(self, checkout: Checkout) -> None:
        self.checkouts.setdefault(checkout.name, []).append(checkout)

    def guarded(self, class_names: list[str]) -> set[str]:
        """Attributes updated under a lock in any of ``class_names`` (a class and its
        bases, wherever in the run they are defined)."""
        found: set[str] = set()
        seen: set[str] = set()
        pending = list(class_names)
        while pending:  # the bases' bases too, across modules
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            found |= self.locked_updates.get(name, set())
            pending.extend(self.bases.get(name, ()))
        return found

    def lookup(self, name: str) -> list[Checkout]:
        """Every definition called ``name`` (several classes may define one)."""
        return self.checkouts.get(name, [])


def _commits(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
        ):
            return True
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
            isinstance(i.context_expr, (ast.Name, ast.Attribute))
            and "lock" not in last_name(i.context_expr).lower()
            for i in node.items
        ):
            return True  # ``with conn:`` commits when the block succeeds
    return False


def _locked_augassigns(cls: ast.ClassDef) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST, locked: bool) -> None:
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
            any(w in last_name(i.context_expr).lower() for w in ("lock", "mutex", "cond"))
            for i in node.items
        ):
            locked = True
        if locked and isinstance(node, ast.AugAssign):
            target: ast.expr = node.target
            while isinstance(target, ast.Subscript):
                target = target.value
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                found.add(f"self.{target.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child, locked)

    visit(cls, False)
    return found
