"""What every rule needs to know about one parsed module (parents, imports, locks, scopes).

Nothing here executes the audited code: it only reads the syntax tree.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cortex.audit.project import ProjectIndex

__all__ = [
    "THREAD_IDENTITY",
    "ModuleContext",
    "asserts_lock_held",
    "assigned_targets",
    "call_name",
    "dotted",
    "is_none",
    "walk_local",
]

_THREAD_MODULES = frozenset(
    {
        "threading",
        "_thread",
        "concurrent",
        "concurrent.futures",
        "multiprocessing.pool",
        "multiprocessing.dummy",
    }
)
_LOCK_FACTORIES = frozenset(
    {"Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "FileLock", "SoftFileLock"}
)
_LOCK_WORDS = frozenset({"lock", "rlock", "mutex", "semaphore", "condition"})
"""Words that name a lock factory of an API the audit does not know
(``handler.rlock_object()``, ``make_lock()``, ``new_semaphore()``)."""
_LOCKISH = re.compile(r"lock|mutex|semaphore|condition|_cond$|^cond$|guard", re.IGNORECASE)
_THREAD_RUNNER = re.compile(r"thread|together|parallel|concurrent|spawn", re.IGNORECASE)
# A runner named for one thread (create_thread(fn), start_thread(fn)) starts one thread;
# one named for several (run_in_threads, run_parallel) runs the function on each.
_ONE_THREAD_RUNNER = re.compile(r"thread(?!s)", re.IGNORECASE)
_MANY_THREAD_RUNNER = re.compile(r"threads|together|parallel|concurrent|pool|many", re.I)
_HANDLER_LOCKED = frozenset({"emit", "doRollover", "shouldRollover", "handleError", "rotate"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

THREAD_IDENTITY = frozenset(
    {
        "threading.get_ident",
        "threading.get_native_id",
        "threading.current_thread",
        "threading.currentThread",
        "threading._get_ident",
        "_thread.get_ident",
    }
)
"""Calls that name the running thread (its id or its ``Thread`` object)."""
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def is_lock_factory(resolved: str) -> bool:
    """True when a call to ``resolved`` makes a thread lock: one of the known factories,
    or a function whose snake_case name says it makes one (``make_lock``, ``new_rlock``,
    ``rlock_object``: a lock made by a factory the audit does not know). Verbs
    (``lock(fh)``, ``lock_file``), predicates (``is_locked``) and asyncio primitives are
    not lock factories."""
    if not resolved or resolved.startswith("asyncio."):
        return False
    name = resolved.rsplit(".", 1)[-1]
    if name in _LOCK_FACTORIES:
        return True
    parts = [part for part in name.lower().split("_") if part]
    if len(parts) < 2 or parts[0] in {"is", "has", "get"}:
        return False  # ``lock(fh)`` locks a file; ``is_locked()`` asks
    # ``make_lock``, ``new_rlock`` name the product last; ``rlock_object`` names it first,
    # followed by what it is. ``lock_file`` and ``lock_exclusive`` lock something else.
    return parts[-1] in _LOCK_WORDS or (
        parts[0] in _LOCK_WORDS and parts[-1] in {"object", "factory", "instance"}
    )


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a chain of names and attributes; ``""`` for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def call_name(node: ast.AST) -> str:
    """The dotted name of a call's function (``json.dump``), or ``""``."""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


def assigned_targets(node: ast.Assign | ast.AugAssign | ast.AnnAssign) -> list[ast.expr]:
    """What an assignment binds: every target of ``a = b = value``, or the one target of
    ``a += value`` and ``a: int = value``."""
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def opens_autocommit(node: ast.AST) -> bool:
    """True when ``node`` is a keyword that puts a ``sqlite3`` connection in autocommit
    mode (``isolation_level=None``, or ``autocommit=True`` on Python 3.12+): the module
    begins no transaction on its own, so every statement is committed when it runs."""
    if not isinstance(node, ast.keyword):
        return False
    if node.arg == "isolation_level":
        return is_none(node.value)
    return (
        node.arg == "autocommit"
        and isinstance(node.value, ast.Constant)
        and node.value.value is True
    )


_COMMIT_STATEMENT = re.compile(r"^\s*(?:COMMIT|END)(?:\s+TRANSACTION)?\s*;?\s*$", re.IGNORECASE)


def is_commit_call(node: ast.AST) -> bool:
    """True when ``node`` commits a transaction: ``conn.commit()`` (awaited or not), or a
    ``COMMIT`` / ``END`` statement run by hand (``conn.execute("COMMIT")``) after an
    explicit ``BEGIN``."""
    if isinstance(node, ast.Await):  # ``await db.commit()`` (aiosqlite and the like)
        node = node.value
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    if node.func.attr == "commit":
        return True
    return (
        node.func.attr == "execute"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and _COMMIT_STATEMENT.match(node.args[0].value) is not None
    )


def last_name(node: ast.AST) -> str:
    """The final identifier of a name, attribute or call (``dump`` for ``json.dump()``)."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):
        return last_name(node.value)
    return ""


_HELD = re.compile(r"^(?:_?is_)?(?:locked|owned|held|lock_held|_is_owned)$", re.IGNORECASE)


def asserts_lock_held(function: ast.AST | None) -> bool:
    """True when ``function`` starts by asserting that its lock is held
    (``assert self.locked``, ``assert self._lock.locked()``, ``assert lock._is_owned()``):
    its author states every caller takes the lock first."""
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    for stmt in function.body[:3]:
        if not isinstance(stmt, ast.Assert):
            continue
        test = stmt.test.func if isinstance(stmt.test, ast.Call) else stmt.test
        if isinstance(test, ast.Attribute) and _HELD.match(test.attr):
            return True
    return False


def is_none(node: ast.AST) -> bool:
    """True for the literal ``None``."""
    return isinstance(node, ast.Constant) and node.value is None


def walk_local(node: ast.AST) -> Iterator[ast.AST]:
    """Like :func:`ast.walk` but does not enter nested functions, lambdas or classes."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(child, (*_FUNCTIONS, ast.ClassDef)):
                stack.append(child)


class ModuleContext:
    """One module's tree with the facts the rules share."""

    def __init__(
        self, tree: ast.Module, project: ProjectIndex | None = None, *, test_module: bool = False
    ) -> None:
        self.tree = tree
        self.is_test_module = test_module
        """The module is test code (see :func:`cortex.audit.engine.is_test_module`)."""
        self.project = project
        """Facts from the other modules of the run (None: this module alone)."""
        self.nodes: list[ast.AST] = list(ast.walk(tree))
        """Every node of the module, parents before children."""
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in self.nodes:
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.functions: list[FunctionNode] = [
            n for n in self.nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        self.classes: list[ast.ClassDef] = [n for n in self.nodes if isinstance(n, ast.ClassDef)]
        self._local: dict[ast.AST, list[ast.AST]] = {}
        self._locked: dict[ast.AST, bool] = {}
        self._class_lock: dict[ast.ClassDef, bool] = {}
        self._checking: set[ast.AST] = set()
        self._entries: set[str] | None = None
        self._pool_entries: set[str] = set()
        self._products: set[str] | None = None
        self._locking_cms: set[str] | None = None
        self.class_facts: dict[tuple[str, ast.AST], set[str]] = {}
        """Facts a rule computes once per class: ``(fact name, class) -> names``."""
        self.aliases: dict[str, str] = {}
        """Local name -> imported dotted name (``sq`` -> ``sqlite3``, ``cycle`` ->
        ``itertools.cycle``)."""
        self.uses_threads = False
        self._scan_imports()
        self.lock_names: set[str] = set()
        """Final names of attributes or variables that are assigned a lock."""
        self.thread_local_names: set[str] = set()
        self.module_names: set[str] = set()
        """Names bound at module level (constants, caches, singletons)."""
        self._scan_assignments()

    def _scan_imports(self) -> None:
        for node in self.nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
                    if alias.name in _THREAD_MODULES:
                        self.uses_threads = True
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module in _THREAD_MODULES:
                    self.uses_threads = True
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in _THREAD_MODULES:
                        self.uses_threads = True

    def _scan_assignments(self) -> None:
        for node in self.nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = assigned_targets(node)
                resolved = self.resolve(call_name(node.value))
                factory = resolved.rsplit(".", 1)[-1]
                for target in targets:
                    name = last_name(target)
                    if isinstance(node.value, ast.Call) and is_lock_factory(resolved):
                        self.lock_names.add(name)
                    elif factory == "local" and isinstance(node.value, ast.Call):
                        self.thread_local_names.add(name)
        for stmt in self.tree.body:
            for target in _bound_targets(stmt):
                if isinstance(target, ast.Name):
                    self.module_names.add(target.id)

    def local(self, scope: ast.AST) -> list[ast.AST]:
        """:func:`walk_local` of ``scope``, computed once."""
        nodes = self._local.get(scope)
        if nodes is None:
            nodes = self._local[scope] = list(walk_local(scope))
        return nodes

    # ----------------------------------------------------------------------------------
    # Names

    def resolve(self, name: str) -> str:
        """Expand an imported alias at the start of a dotted name (``sq.connect`` ->
        ``sqlite3.connect``)."""
        if not name:
            return name
        head, _, rest = name.partition(".")
        full = self.aliases.get(head, head)
        return f"{full}.{rest}" if rest else full

    def is_call_to(self, node: ast.AST, *qualified: str) -> bool:
        """True when ``node`` calls one of the fully qualified functions given."""
        return isinstance(node, ast.Call) and self.resolve(call_name(node)) in qualified

    # ----------------------------------------------------------------------------------
    # Scopes

    def parent(self, node: ast.AST) -> ast.AST | None:
        """The node's parent, or None for the module."""
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        """Parents from the nearest outwards."""
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def function_of(self, node: ast.AST) -> FunctionNode | None:
        """The innermost function (not lambda) containing ``node``."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return ancestor
            if isinstance(ancestor, ast.ClassDef):
                return None
        return None

    def class_of(self, node: ast.AST) -> ast.ClassDef | None:
        """The class whose method (or body) contains ``node``."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, ast.ClassDef):
                return ancestor
        return None

    def method_class(self, function: ast.AST) -> ast.ClassDef | None:
        """The class when ``function`` is defined directly in a class body."""
        parent = self.parents.get(function)
        return parent if isinstance(parent, ast.ClassDef) else None

    def in_loop(self, node: ast.AST) -> bool:
        """True when ``node`` runs repeatedly inside its function (loop or comprehension)."""
        child = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _SCOPES):
                return False
            if isinstance(ancestor, (ast.For, ast.AsyncFor, ast.While)) and child in (
                ancestor.body
            ):
                return True
            if isinstance(ancestor, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                return True
            child = ancestor
        return False

    # ----------------------------------------------------------------------------------
    # Locks

    def is_lockish(self, expr: ast.AST) -> bool:
        """True when a ``with`` item looks like a lock (by its name or its factory)."""
        if isinstance(expr, ast.Call):
            if is_lock_factory(self.resolve(call_name(expr))):
                return True
            if (
                call_name(expr) == "getattr"
                and len(expr.args) >= 2
                and isinstance(expr.args[1], ast.Constant)
                and isinstance(expr.args[1].value, str)
            ):  # ``with getattr(self, "_lock", nullcontext()):``
                name = expr.args[1].value
                return name in self.lock_names or bool(_LOCKISH.search(name))
            if self._calls_locking_context_manager(expr):
                return True
            return self.is_lockish(expr.func)
        if isinstance(expr, ast.Subscript):
            return self.is_lockish(expr.value)
        name = last_name(expr)
        return bool(name) and (name in self.lock_names or bool(_LOCKISH.search(name)))

    def _calls_locking_context_manager(self, call: ast.Call) -> bool:
        """``with self.transaction():`` where ``transaction`` is a ``@contextmanager`` of
        this module that holds a lock around its ``yield``: the block runs under that lock."""
        if isinstance(call.func, ast.Attribute) and dotted(call.func.value) not in {"self", "cls"}:
            return False
        return call_name(call).rsplit(".", 1)[-1] in self.locking_context_managers()

    def locking_context_managers(self) -> set[str]:
        """Names of this module's ``@contextmanager`` functions and methods whose every
        ``yield`` runs inside ``with <lock>:`` (or after the lock's ``acquire()``, or in the
        branch where the running thread already owns the lock)."""
        if self._locking_cms is None:
            managers = [
                f
                for f in self.functions
                if any(
                    last_name(d) in {"contextmanager", "asynccontextmanager"}
                    for d in f.decorator_list
                )
            ]
            # To a fixed point: one manager may hold its lock by entering another.
            found: set[str] = set()
            self._locking_cms = found
            grown = True
            while grown:
                grown = False
                for function in managers:
                    if function.name in found:
                        continue
                    yields = [n for n in self.local(function) if isinstance(n, ast.Yield)]
                    if yields and all(self._yield_under_lock(function, y) for y in yields):
                        found.add(function.name)
                        grown = True
        return self._locking_cms

    def _yield_under_lock(self, function: FunctionNode, node: ast.Yield) -> bool:
        child: ast.AST = node
        for ancestor in self.ancestors(node):
            if ancestor is function:
                break
            if isinstance(ancestor, (ast.With, ast.AsyncWith)) and any(
                self.is_lockish(item.context_expr) for item in ancestor.items
            ):
                return True
            if (
                isinstance(ancestor, ast.If)
                and child in ancestor.body
                and self._is_owner_check(function, ancestor.test)
            ):
                return True  # the re-entrant branch: this thread already holds the lock
            child = ancestor
        return any(
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "acquire"
            and self.is_lockish(n.func.value)
            and n.lineno < node.lineno
            for n in self.local(function)
        )

    def _is_owner_check(self, function: FunctionNode, test: ast.expr, depth: int = 0) -> bool:
        """``self._owner == threading.get_ident()`` (directly or through locals assigned
        once in ``function``): the test a re-entrant context manager makes to see whether
        the running thread already holds its lock."""
        if isinstance(test, ast.Name) and depth < 3:
            value = self.assigned_once(function, test.id)
            return value is not None and self._is_owner_check(function, value, depth + 1)
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], (ast.Eq, ast.Is))
        ):
            return False
        return any(
            self._is_thread_identity(function, side) for side in (test.left, test.comparators[0])
        )

    def _is_thread_identity(self, function: FunctionNode, expr: ast.expr, depth: int = 0) -> bool:
        if isinstance(expr, ast.Name) and depth < 3:
            value = self.assigned_once(function, expr.id)
            return value is not None and self._is_thread_identity(function, value, depth + 1)
        return isinstance(expr, ast.Call) and self.resolve(call_name(expr)) in THREAD_IDENTITY

    def assigned_once(self, function: FunctionNode, name: str) -> ast.expr | None:
        """The value of the one assignment to local ``name`` in ``function``, if only one."""
        values = [
            n.value
            for n in self.local(function)
            if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)
        ]
        return values[0] if len(values) == 1 else None

    def main_thread_only(self, node: ast.AST) -> bool:
        """True when ``node`` runs only on the main thread: inside ``if`` tests that require
        ``threading.current_thread() is threading.main_thread()`` (``==``, or the name
        ``"MainThread"``), within its function."""
        child = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _SCOPES):
                return False
            if (
                isinstance(ancestor, ast.If)
                and child is not ancestor.test
                and child in ancestor.body
                and self._requires_main_thread(ancestor.test)
            ):
                return True
            child = ancestor
        return False

    def _requires_main_thread(self, test: ast.expr) -> bool:
        if isinstance(test, ast.BoolOp):
            return isinstance(test.op, ast.And) and any(
                self._requires_main_thread(v) for v in test.values
            )
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], (ast.Eq, ast.Is))
        ):
            return False
        sides = [test.left, test.comparators[0]]
        named = {self.resolve(call_name(s)) for s in sides if isinstance(s, ast.Call)}
        names = {n.rsplit(".", 1)[-1] for n in named}
        if {"current_thread", "main_thread"} <= names or {"currentThread", "main_thread"} <= names:
            return True
        # ``threading.current_thread().name == "MainThread"``
        return any(isinstance(s, ast.Constant) and s.value == "MainThread" for s in sides) and any(
            isinstance(s, ast.Attribute)
            and s.attr == "name"
            and self.resolve(call_name(s.value)).rsplit(".", 1)[-1]
            in {"current_thread", "currentThread"}
            for s in sides
        )

    def function_is_locked(self, function: ast.AST) -> bool:
        """True when the whole function runs under a lock (see :meth:`_function_is_locked`)."""
        known = self._locked.get(function)
        if known is None:
            known = self._locked[function] = self._function_is_locked(function)
        return known

    @staticmethod
    def _is_handler(klass: ast.ClassDef) -> bool:
        """A ``logging.Handler`` subclass: ``handle()`` holds its lock around ``emit()``
        and what ``emit()`` calls."""
        return any(last_name(b).endswith("Handler") for b in klass.bases)

    def _function_is_locked(self, function: ast.AST) -> bool:
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            cls = self.method_class(function)
            if cls is not None and function.name in _HANDLER_LOCKED and self._is_handler(cls):
                return True  # logging.Handler.handle() holds self.lock around these
        """True when the whole function runs under a lock: a locking decorator, or it calls
        ``acquire()`` (it takes the lock) or ``release()`` (it was called holding it)."""
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in function.decorator_list:
                name = last_name(decorator).lower()
                if "lock" in name or "synchronized" in name:
                    return True
        if asserts_lock_held(function):
            return True  # its author asserts the callers hold the lock
        for node in self.local(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"acquire", "release"}
                and self.is_lockish(node.func.value)
            ):
                return True
        return self._helper_called_locked(function)

    def _helper_called_locked(self, function: ast.AST) -> bool:  # noqa: PLR0911
        """A private method (``_name``) whose every call in its class holds a lock: its
        callers took the lock for it."""
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        name = function.name
        cls = self.method_class(function)
        if cls is None or name.startswith("__"):
            return False
        if not name.startswith("_") and not self._is_handler(cls):
            return False  # a public method may be called from anywhere
        if function in self._checking:
            return False  # recursion between helpers proves nothing
        self._checking.add(function)
        try:
            calls = [
                n
                for n in ast.walk(cls)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == name
                and dotted(n.func.value) in {"self", "cls"}
            ]
            if not all(self.under_lock(c) for c in calls):
                return False
            # Another object's code may drive it, under that object's lock.
            outside = (
                self.project.called_locked_from_outside(name) if self.project is not None else None
            )
            if outside is False:
                return False
            return bool(calls) or outside is True
        finally:
            self._checking.discard(function)

    def under_lock(self, node: ast.AST) -> bool:
        """True when ``node`` runs inside ``with <lock>:`` in its own function."""
        child = node
        for ancestor in self.ancestors(node):
            if (
                isinstance(ancestor, (ast.With, ast.AsyncWith))
                and child not in ancestor.items
                and any(self.is_lockish(item.context_expr) for item in ancestor.items)
            ):
                return True
            if isinstance(ancestor, _FUNCTIONS):
                return self.function_is_locked(ancestor)
            if isinstance(ancestor, (ast.ClassDef, ast.Module)):
                return False
            child = ancestor
        return False

    def class_has_lock(self, cls: ast.ClassDef) -> bool:
        """True when the class creates a lock attribute or uses one in a ``with``."""
        known = self._class_lock.get(cls)
        if known is None:
            known = self._class_lock[cls] = self._class_has_lock(cls)
        return known

    def _class_has_lock(self, cls: ast.ClassDef) -> bool:
        # A base class defined in this module lends its lock to its subclasses.
        self._class_lock[cls] = False  # breaks cycles of bases
        for base in cls.bases:
            parent = next((c for c in self.classes if c.name == last_name(base)), None)
            if parent is not None and parent is not cls and self.class_has_lock(parent):
                return True
        # asyncio primitives say nothing about threads: only thread locks count here.
        for node in ast.walk(cls):
            if isinstance(node, ast.With) and any(
                self.is_lockish(i.context_expr) for i in node.items
            ):
                return True
            if (
                isinstance(node, (ast.Assign, ast.AnnAssign))
                and isinstance(node.value, ast.Call)
                and is_lock_factory(self.resolve(call_name(node.value)))
            ):
                return True
        return False

    def threaded(self, node: ast.AST) -> bool:
        """True when ``node`` is in code that runs on threads: the module imports a
        threading module, or the enclosing class has a lock."""
        if self.uses_threads:
            return True
        cls = self.class_of(node)
        return cls is not None and self.class_has_lock(cls)

    def shared_class(self, node: ast.AST) -> bool:
        """Evidence that the instance ``node`` works on is shared between threads: its
        class owns a thread lock (its author expects several threads in it), or one of its
        methods is handed to a thread or a pool (``Thread(target=obj.run)``,
        ``pool.submit(obj.add, ...)``)."""
        cls = self.class_of(node)
        if cls is None:
            return False
        return self.class_has_lock(cls) or self.shared_instance(cls)

    def shared_instance(self, cls: ast.ClassDef) -> bool:
        """Evidence about the instances rather than the class's own code: it is a
        singleton's product, or one of its methods is handed to a thread or a pool."""
        if cls.name in self.singleton_products():
            return True
        methods = {
            m.name for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        if methods & self.thread_entries():
            return True
        return self.project is not None and self.project.run_on_threads(cls.name, methods)

    def singleton_products(self) -> set[str]:
        """Classes whose one instance every caller shares: built by a lazy global
        (``global _x; _x = Cls()``), handed to a singleton holder (``LazySingleton(Cls)``)
        or stored under a lock in a registry (``with lock: registry[key] = Cls()``)."""
        if self._products is None:
            found: set[str] = set()
            for function in self.functions:
                declared = {
                    name
                    for n in self.local(function)
                    if isinstance(n, ast.Global)
                    for name in n.names
                }
                for n in self.local(function):
                    if (
                        isinstance(n, ast.Assign)
                        and isinstance(n.value, ast.Call)
                        and any(isinstance(t, ast.Name) and t.id in declared for t in n.targets)
                    ):
                        found.add(last_name(n.value))
            for n in self.nodes:
                if (
                    isinstance(n, ast.Assign)
                    and isinstance(n.value, ast.Call)
                    and any(self._process_wide_registry(t) for t in n.targets)
                    and self.under_lock(n)
                ):
                    # ``with cls._lock: cls._bars[key] = Bar(...)``: a class-level or module
                    # registry its author locks hands the same instance to every thread that
                    # asks for the key (an object's own registry is that object's business).
                    found.add(last_name(n.value))
                if isinstance(n, ast.Call) and "singleton" in last_name(n).lower():
                    for arg in n.args:
                        target = arg.body if isinstance(arg, ast.Lambda) else arg
                        found.add(last_name(target))
            self._products = found - {""}
        return self._products

    def _process_wide_registry(self, target: ast.expr) -> bool:
        """``target`` is an item of a module global or of a class attribute
        (``_registry[key]``, ``cls._bars[key]``, ``Bars._bars[key]``)."""
        if not isinstance(target, ast.Subscript):
            return False
        holder = target.value
        if isinstance(holder, ast.Name):
            return holder.id in self.module_names
        if isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name):
            owner = holder.value.id
            return owner == "cls" or owner in {c.name for c in self.classes}
        return False

    def pool_entries(self) -> set[str]:
        """Of :meth:`thread_entries`, the methods several threads run at once: handed to a
        pool (``submit``, ``map``, a ``run_in_threads`` helper) or to threads started in a
        loop."""
        self.thread_entries()
        return self._pool_entries

    def thread_entries(self) -> set[str]:  # noqa: PLR0912 - one branch per way in
        """Names of methods this module hands to threads or pools: ``Thread(target=x.m)``,
        ``Timer(t, x.m)``, ``executor.submit(x.m, ...)``, ``executor.map(x.m, ...)``."""
        if self._entries is None:
            found: set[str] = set()
            many: set[str] = set()
            handed_to_thread_classes: list[str] = []
            local_functions = {f.name: f for f in self.functions if self.function_of(f) is not None}
            for node in self.nodes:
                if not isinstance(node, ast.Call):
                    continue
                kind = last_name(node)
                candidates = [kw.value for kw in node.keywords if kw.arg in {"target"}]
                if kind in {"submit", "map", "apply_async", "start_new_thread"}:
                    candidates.extend(node.args[:1])
                elif kind == "add_done_callback":
                    if not self._thread_futures():
                        continue  # an asyncio future calls back on its loop's thread
                    candidates.extend(node.args[:1])  # runs on whichever pool thread finished
                elif kind == "Timer":
                    candidates.extend(node.args[1:2])
                elif _THREAD_RUNNER.search(kind):
                    candidates.extend(node.args[:1])  # run_in_threads(work, 8)
                elif self.project is not None and self.project.is_thread_class(kind):
                    # A thread class of the run given a callback: it calls it on its thread.
                    candidates.extend(
                        a
                        for a in (*node.args, *(k.value for k in node.keywords))
                        if isinstance(a, (ast.Attribute, ast.Lambda))
                    )
                    handed_to_thread_classes.extend(_method_refs(candidates))
                elif kind != "Thread":
                    continue
                names: set[str] = set()
                for candidate in candidates:
                    if isinstance(candidate, ast.Attribute):
                        names.add(candidate.attr)
                        continue
                    body: ast.AST | None = candidate if isinstance(candidate, ast.Lambda) else None
                    if isinstance(candidate, ast.Name):
                        body = local_functions.get(candidate.id)
                    if body is not None:  # the worker's own calls: ``obj.record(...)``
                        names.update(
                            n.func.attr
                            for n in ast.walk(body)
                            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                        )
                found |= names
                # A pool runs the same method on several threads at once; so do threads
                # started in a loop. One Thread or Timer is one more thread.
                one_thread = {"Thread", "Timer", "start_new_thread"}
                single_runner = bool(
                    _ONE_THREAD_RUNNER.search(kind) and not _MANY_THREAD_RUNNER.search(kind)
                )
                several = (kind not in one_thread and not single_runner) or self.in_loop(node)
                if self.project is not None and self.project.is_thread_class(kind):
                    several = self.in_loop(node)
                many |= names if several else set()
            # The same method handed to two thread objects runs on two threads at once.
            many |= {n for n, count in Counter(handed_to_thread_classes).items() if count > 1}
            self._entries = found
            self._pool_entries = many
        return self._entries

    def _thread_futures(self) -> bool:
        """The module's futures are ``concurrent.futures`` ones (it imports that module and
        not asyncio): their done callbacks run on the pool's worker threads."""
        imported = set(self.aliases.values())
        return any(n.startswith("concurrent.futures") for n in imported) and not any(
            n == "asyncio" or n.startswith("asyncio.") for n in imported
        )

    def starts_threads(self) -> bool:
        """True when the module starts threads or a thread pool itself, or defines a
        module-level thread lock (evidence that its globals are shared)."""
        known = self._locked.get(self.tree)
        if known is None:
            known = self._locked[self.tree] = self._starts_threads()
        return known

    def _starts_threads(self) -> bool:
        for node in self.nodes:
            if isinstance(node, ast.Call):
                name = self.resolve(call_name(node)).rsplit(".", 1)[-1]
                if name in {"Thread", "Timer", "ThreadPoolExecutor", "start_new_thread"}:
                    return True
        for stmt in self.tree.body:
            if (
                isinstance(stmt, (ast.Assign, ast.AnnAssign))
                and isinstance(stmt.value, ast.Call)
                and is_lock_factory(self.resolve(call_name(stmt.value)))
            ):
                return True
        return False

    def is_thread_local(self, expr: ast.AST) -> bool:
        """True when an attribute chain passes through a ``threading.local()`` object."""
        while isinstance(expr, (ast.Attribute, ast.Subscript)):
            if isinstance(expr, ast.Attribute) and expr.attr in self.thread_local_names:
                return True
            expr = expr.value
        return isinstance(expr, ast.Name) and expr.id in self.thread_local_names


def _method_refs(candidates: list[ast.expr]) -> list[str]:
    """Names of the methods ``candidates`` refer to: ``self.m`` or ``lambda: self.m()``."""
    found: list[str] = []
    for candidate in candidates:
        if isinstance(candidate, ast.Attribute):
            found.append(candidate.attr)
        elif isinstance(candidate, ast.Lambda):
            found.extend(
                n.func.attr
                for n in ast.walk(candidate.body)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            )
    return found


def _bound_targets(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return [stmt.target]
    if isinstance(stmt, (ast.If, ast.Try)):
        found: list[ast.expr] = []
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.stmt):
                found.extend(_bound_targets(child))
        return found
    return []
