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

from cortex.audit._context import (
    call_name,
    is_commit_call,
    is_lock_factory,
    last_name,
    opens_autocommit,
    walk_local,
)

__all__ = ["EXECUTE_METHODS", "RESOURCE_FACTORIES", "Checkout", "ProjectIndex"]

EXECUTE_METHODS = frozenset({"execute", "executemany"})
"""The calls the SQLite checks read as running a statement on a connection."""

RESOURCE_FACTORIES = frozenset(
    {
        # Things whose identity is their point: a second one splits what should be one.
        "Queue", "SimpleQueue", "LifoQueue", "PriorityQueue", "JoinableQueue", "deque",
        "Thread", "Timer", "Process", "Pool", "ThreadPool", "ThreadPoolExecutor",
        "ProcessPoolExecutor", "Event", "Condition", "Semaphore", "BoundedSemaphore",
        "Barrier", "socket", "create_connection", "connect", "open", "mkstemp", "mkdtemp",
        "NamedTemporaryFile", "TemporaryFile", "TemporaryDirectory", "Popen", "Manager",
        "ContextVar",
    }
)  # fmt: skip
"""Last names of calls that make a lock-like or resource object (besides the lock
factories): a queue, a thread or pool, an event, a connection, a file, a process, a
context variable (a token resets only the variable that made it)."""


@dataclass(frozen=True)
class Checkout:
    """One definition found in the scanned files: a context manager, or a database
    wrapper's ``execute`` method (:attr:`ProjectIndex.executors`)."""

    name: str
    """The function or class name (what ``with x.NAME(...)`` or ``x.NAME(...)`` calls)."""
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
    foreign_calls: dict[str, list[bool]] = field(default_factory=dict)
    """Private method name -> for every call ``obj._name(...)`` on an object other than
    ``self``/``cls``, whether the caller holds a lock there (``with <lock>:``, or its
    function takes one with ``acquire()``): another object's code that drives this one
    under its own lock (a transport setting up the channel it opens)."""

    executors: dict[str, list[Checkout]] = field(default_factory=dict)
    """Methods named like a connection's ``execute``/``executemany`` defined in the run (a
    database wrapper's), with whether each runs the statement in a transaction it commits
    (``with self.connection:``, ``with sqlite3.connect(path) as con:``, or ``commit()``)."""
    resource_owners: set[str] = field(default_factory=set)
    """Names of classes of the run that make, in one of their methods, a lock or resource
    of their own (``self._lock = threading.RLock()``, ``self.conn = sqlite3.connect(...)``):
    two instances of such a class do not exclude each other, or hold two of the resource."""
    constructions: dict[str, int] = field(default_factory=dict)
    """Name -> how many calls in the run name it last (``Settings(...)``,
    ``settings.Settings(...)``): for a class, how many places make an instance."""
    thread_targets: dict[str, set[str]] = field(default_factory=dict)
    """Holder name -> methods handed to a thread as ``Thread(target=x.HOLDER.METHOD)`` (or
    ``target=HOLDER.METHOD``) anywhere in the run: what another module runs on a thread of
    its own, named by the attribute or variable that holds the object."""

    def add_module(self, tree: ast.Module, path: str) -> None:
        """Record the context managers ``tree`` defines, its calls of other objects'
        private methods, and the methods it hands to threads."""
        _record_foreign_calls(tree, self.foreign_calls)
        for node in ast.walk(tree):
            _record_thread_target(node, self.thread_targets)
            if isinstance(node, ast.Call):
                name = last_name(node)
                self.constructions[name] = self.constructions.get(name, 0) + 1
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name in EXECUTE_METHODS
            ):
                self.executors.setdefault(node.name, []).append(
                    Checkout(node.name, path, node.lineno, _commits(node))
                )
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorated = any(
                    last_name(d) in {"contextmanager", "asynccontextmanager"}
                    for d in node.decorator_list
                )
                yields = any(isinstance(n, ast.Yield) for n in walk_local(node))
                if decorated and yields:
                    self._add(Checkout(node.name, path, node.lineno, _commits(node)))
            if isinstance(node, ast.ClassDef):
                if _makes_own_resource(node):
                    self.resource_owners.add(node.name)
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

    def made_once(self, class_name: str) -> bool:
        """True when exactly one call in the run makes a ``class_name`` instance."""
        return self.constructions.get(class_name, 0) == 1

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

    def run_on_threads(self, class_name: str, methods: set[str]) -> bool:
        """True when some module of the run hands one of ``methods`` to a thread through a
        holder named after the class (``target=self.database.reload`` for ``Database``):
        instances of the class are used on threads their own module never starts."""
        wanted = _plain(class_name)
        return any(
            _plain(holder) == wanted and bool(targets & methods)
            for holder, targets in self.thread_targets.items()
        )

    def called_locked_from_outside(self, name: str) -> bool | None:
        """Whether every call of private method ``name`` from another object's code holds
        a lock (None when no other object calls it)."""
        calls = self.foreign_calls.get(name)
        if not calls:
            return None
        return all(calls)

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

    def committing_executor(self, name: str) -> Checkout | None:
        """The definition of a database wrapper's ``name`` method (``execute``...) when the
        run defines that method and every definition of it commits, else None."""
        found = self.executors.get(name, [])
        if found and all(e.commits for e in found):
            return found[0]
        return None

    def lookup(self, name: str) -> list[Checkout]:
        """Every definition called ``name`` (several classes may define one)."""
        return self.checkouts.get(name, [])


def _commits(function: ast.AST) -> bool:
    """True when ``function`` commits what runs on the connection it lends: it calls
    ``commit()`` (or runs ``COMMIT``), opens a ``with conn:`` transaction, or makes the
    connection in autocommit mode (``connect(path, isolation_level=None)``)."""
    for node in ast.walk(function):
        if is_commit_call(node):
            return True
        if (
            isinstance(node, ast.Call)
            and call_name(node).rsplit(".", 1)[-1] == "connect"
            and any(opens_autocommit(k) for k in node.keywords)
        ):
            return True
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
            (
                isinstance(i.context_expr, (ast.Name, ast.Attribute))
                and "lock" not in last_name(i.context_expr).lower()
            )
            or (
                isinstance(i.context_expr, ast.Call)
                and call_name(i.context_expr).rsplit(".", 1)[-1] == "connect"
            )
            for i in node.items
        ):
            return True  # ``with conn:`` (or ``with sqlite3.connect(...)``) commits
    return False


def _makes_own_resource(cls: ast.ClassDef) -> bool:
    """True when a method of ``cls`` stores a lock or a resource it makes on the instance
    (``self.x = threading.Lock()``, ``self.q = queue.Queue()``)."""
    for node in ast.walk(cls):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        name = call_name(node.value)
        if not (is_lock_factory(name) or name.rsplit(".", 1)[-1] in RESOURCE_FACTORIES):
            continue
        if any(
            isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
            for t in node.targets
        ):
            return True
    return False


def _made_locks(tree: ast.AST) -> set[str]:
    """Names ``tree`` assigns from a lock factory, known or not (``rlock_object()``)."""
    return {
        last_name(t)
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Call)
        and is_lock_factory(call_name(n.value))
        for t in n.targets
    }


def _locked_augassigns(cls: ast.ClassDef) -> set[str]:
    found: set[str] = set()
    made_locks = _made_locks(cls)

    def visit(node: ast.AST, locked: bool) -> None:
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
            _lock_word(i.context_expr, made_locks) for i in node.items
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


def _lock_word(expr: ast.AST, made_locks: set[str]) -> bool:
    name = last_name(expr)
    return name in made_locks or any(w in name.lower() for w in ("lock", "mutex", "cond"))


def _record_foreign_calls(tree: ast.Module, calls: dict[str, list[bool]]) -> None:
    """Add to ``calls`` every ``obj._name(...)`` in ``tree`` whose ``obj`` is not
    ``self``/``cls``, with whether a lock is held there."""
    made_locks = _made_locks(tree)

    def visit(node: ast.AST, locked: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            # A function that takes a lock with acquire() holds it around its calls.
            locked = any(
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == "acquire"
                and _lock_word(n.func.value, made_locks)
                for n in walk_local(node)
            )
        elif isinstance(node, (ast.With, ast.AsyncWith)) and any(
            _lock_word(i.context_expr, made_locks) for i in node.items
        ):
            for item in node.items:
                visit(item, locked)
            for stmt in node.body:
                visit(stmt, True)
            return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr.startswith("_")
            and not node.func.attr.startswith("__")
            and last_name(node.func.value) not in {"self", "cls", "super"}  # super() too
        ):
            calls.setdefault(node.func.attr, []).append(locked)
        for child in ast.iter_child_nodes(node):
            visit(child, locked)

    visit(tree, False)


def _plain(name: str) -> str:
    """``name`` compared loosely: ``_database``, ``Database`` and ``DATA_BASE`` agree."""
    return name.replace("_", "").lower()


def _record_thread_target(node: ast.AST, targets: dict[str, set[str]]) -> None:
    """Add to ``targets`` the method of ``Thread(target=holder.method)`` (or
    ``x.holder.method``) when ``node`` is such a call, except methods of ``self``/``cls``
    (the module's own code sees those)."""
    if not (isinstance(node, ast.Call) and last_name(node) == "Thread"):
        return
    for keyword in node.keywords:
        value = keyword.value
        if keyword.arg != "target" or not isinstance(value, ast.Attribute):
            continue
        holder = last_name(value.value)
        if holder and holder not in {"self", "cls", "super"}:
            targets.setdefault(holder, set()).add(value.attr)
