"""The checks: one function per family of patterns, each reading one module's syntax tree.

Every check yields ``(node, rule_id, message)``; the engine turns that into a
:class:`~cortex.audit.model.Finding`. The heuristics are deliberately local (one function or
one class at a time) so that they stay fast and explainable; the guide page
``docs/guide/audit.md`` states exactly what each one matches.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterable, Iterator

from cortex.audit._context import (
    THREAD_IDENTITY,
    FunctionNode,
    ModuleContext,
    asserts_lock_held,
    assigned_targets,
    call_name,
    dotted,
    is_commit_call,
    is_lock_factory,
    is_none,
    last_name,
    opens_autocommit,
    walk_local,
)
from cortex.audit.model import Severity
from cortex.audit.project import EXECUTE_METHODS, RESOURCE_FACTORIES, Checkout, ProjectIndex

__all__ = ["CHECKS", "Hit", "run_checks"]

Hit = tuple[ast.AST, str, str] | tuple[ast.AST, str, str, Severity]
"""``(node, rule id, message)``, or with a fourth item the finding's own severity (the
rule lowers it to ``info`` when it lacks evidence that the pattern matters here)."""
INFO = Severity.INFO

_SETUP_METHOD = re.compile(r"init|setup|schema|migrat|^_?connect|^__enter__$|^close$", re.I)
_POOL_CHECKOUT = frozenset(
    {"get_connection", "connection", "acquire", "checkout", "borrow", "lease", "get_conn"}
)
_WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_TRANSACTION_CM = re.compile(r"transaction|atomic|begin|write", re.IGNORECASE)
_RECORD_PARAM = re.compile(
    r"tried|attempt|visited|seen|exclude|skip|remaining|depth|retr|budget|fallback|avoid",
    re.IGNORECASE,
)
_FAILURE_TEST = re.compile(
    r"fail|error|exception|success|\bok\b|status|unavailable|healthy|down", re.IGNORECASE
)
_ASYNC_PRIMITIVES = frozenset(
    {
        "Semaphore",
        "BoundedSemaphore",
        "Lock",
        "Event",
        "Condition",
        "Queue",
        "PriorityQueue",
        "LifoQueue",
        "Barrier",
    }
)
_NOT_SHARED_METHODS = frozenset({"__init__", "__new__", "__post_init__", "__init_subclass__"})
_FETCHES = frozenset({"fetchone", "fetchall", "fetchmany"})
_CURSOR_DATA = frozenset({"rowcount", "lastrowid", "description"})
_DUMPERS = frozenset({"dump", "safe_dump", "dump_all", "safe_dump_all"})
_WRITERS = frozenset({"write", "writelines"})


def _functions(ctx: ModuleContext) -> list[FunctionNode]:
    return ctx.functions


def _stmt_assigns(stmt: ast.AST) -> Iterator[tuple[ast.expr, ast.expr]]:
    """``(target, value)`` pairs of every assignment inside ``stmt`` (this function only)."""
    for node in walk_local(stmt):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield target, node.value
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            yield node.target, node.value


def _negated_or_none_test(test: ast.expr) -> Iterator[ast.expr]:
    """Expressions tested for absence: ``x is None``, ``not x``, ``x == None``."""
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            yield from _negated_or_none_test(value)
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        yield test.operand
    elif (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.Eq))
        and is_none(test.comparators[0])
    ):
        yield test.left


# --------------------------------------------------------------------------------------
# Singletons
# --------------------------------------------------------------------------------------


def check_singletons(ctx: ModuleContext) -> Iterator[Hit]:
    """``singleton-global``, ``singleton-function-attr``, ``singleton-class-cache``,
    ``singleton-instance-attr``."""
    for function in _functions(ctx):
        declared_global = {
            name
            for node in ctx.local(function)
            if isinstance(node, ast.Global)
            for name in node.names
        }
        for node in ctx.local(function):
            if not isinstance(node, ast.If):
                continue
            hit = _absent_check_hit(ctx, function, node, declared_global)
            if hit is None:
                hit = _guard_clause_hit(ctx, function, node, declared_global)
            if hit is not None:
                yield _in_test_code(ctx, hit)
    for hit in _class_caches(ctx):
        yield _in_test_code(ctx, hit)


def _in_test_code(ctx: ModuleContext, hit: Hit) -> Hit:
    """``hit`` as ``info`` when it is in test code (a test module or a test function): a
    test helper's memo is made for one test session, whose runner runs one test at a time
    unless the suite itself starts threads (then the test that does is the place to look)."""
    node, rule, message = hit[0], hit[1], hit[2]
    if INFO in hit[3:] or not _is_test_code(ctx, node):
        return hit
    return (node, rule, f"{message}; in test code", INFO)


def _first_singleton_hit(
    ctx: ModuleContext,
    function: FunctionNode,
    *,
    check: ast.If,
    tested: list[ast.expr],
    assigns: Iterable[tuple[ast.expr, ast.expr]],
    declared_global: set[str],
) -> Hit | None:
    for target, value in assigns:
        if ctx.under_lock(target):
            continue
        hit = _singleton_hit(
            ctx,
            function,
            check=check,
            tested=tested,
            target=target,
            value=value,
            declared_global=declared_global,
        )
        if hit is not None:
            return _on_main_thread_only(ctx, hit, target, value)
    return None


def _absent_check_hit(
    ctx: ModuleContext, function: FunctionNode, check: ast.If, declared_global: set[str]
) -> Hit | None:
    """``if x is None: x = make()``, or ``if not X: init()`` where ``init`` sets global X."""
    tested = list(_negated_or_none_test(check.test))
    if not tested and not any(call_name(n) in {"hasattr", "getattr"} for n in ast.walk(check.test)):
        return None
    hit = _first_singleton_hit(
        ctx,
        function,
        check=check,
        tested=tested,
        assigns=_stmt_assigns(check),
        declared_global=declared_global,
    )
    if hit is not None:
        return hit
    return _indirect_global_hit(ctx, check, tested)


def _guard_clause_hit(
    ctx: ModuleContext, function: FunctionNode, check: ast.If, declared_global: set[str]
) -> Hit | None:
    """``if x is not None: return x`` followed by ``x = make()``: the same check-then-act
    written as a guard clause."""
    if check.orelse or not check.body or not isinstance(check.body[-1], (ast.Return, ast.Raise)):
        return None
    present = list(_present_test(check.test))
    parent = ctx.parent(check)
    block = _containing_block(parent, check) if parent is not None else None
    if not present or block is None:
        return None
    rest = block[block.index(check) + 1 :]
    assigns = (pair for stmt in rest for pair in _stmt_assigns(stmt))
    return _first_singleton_hit(
        ctx, function, check=check, tested=present, assigns=assigns, declared_global=declared_global
    )


def _present_test(test: ast.expr) -> Iterator[ast.expr]:
    """The expression a guard clause tests for presence: ``x is not None``, ``x != None``
    or ``x`` alone (a name or an attribute)."""
    if isinstance(test, (ast.Name, ast.Attribute)):
        yield test
    elif (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.IsNot, ast.NotEq))
        and is_none(test.comparators[0])
    ):
        yield test.left


def _indirect_global_hit(ctx: ModuleContext, check: ast.If, tested: list[ast.expr]) -> Hit | None:
    """``if not X: init()`` where ``init``, a function of this module, declares ``global X``
    and assigns it (outside a lock) before assigning other globals: a caller that finds X
    set goes on while the first caller is still setting the rest."""
    names = {t.id for t in tested if isinstance(t, ast.Name) and t.id in ctx.module_names}
    if not names:
        return None
    module_functions = {
        f.name: f for f in ctx.tree.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    for call in (n for stmt in check.body for n in walk_local(stmt)):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            continue
        init = module_functions.get(call.func.id)
        if init is None or ctx.function_is_locked(init):
            continue
        declared = {n for g in ctx.local(init) if isinstance(g, ast.Global) for n in g.names}
        stores = sorted(
            (
                (getattr(t, "lineno", 0), t.id)
                for t, _value in _stmt_assigns(init)
                if isinstance(t, ast.Name) and t.id in declared and not ctx.under_lock(t)
            ),
        )
        for position, (_line, name) in enumerate(stores):
            later = sorted({other for _l, other in stores[position + 1 :] if other != name})
            if name in names and later:
                return (
                    check,
                    "singleton-global",
                    f"global '{name}' is checked here and set by '{init.name}()' without a "
                    f"lock before {', '.join(repr(n) for n in later)}: a caller that finds "
                    f"'{name}' set can go on before the rest is",
                )
    return None


def _made_at_import(ctx: ModuleContext, name: str) -> bool:
    """True when the module's top level always assigns global ``name`` an object made by a
    call (on every branch of an ``if``), and no assignment anywhere sets it to a constant
    (``None``, ``False``): a lazy check of it is dead code."""
    if not any(_always_made(stmt, name) for stmt in ctx.tree.body):
        return False
    return not any(
        isinstance(node, (ast.Assign, ast.AnnAssign))
        and isinstance(node.value, ast.Constant)
        and any(isinstance(t, ast.Name) and t.id == name for t in assigned_targets(node))
        for node in ast.walk(ctx.tree)
    )


def _instance_made_at_import(ctx: ModuleContext, cls: ast.ClassDef, attribute: str) -> bool:
    """True when the module's top level makes an instance of ``cls`` (``settings =
    Settings()``) after defining it, and no method sets the class attribute that holds
    the instance back to a constant: the first creation runs at import."""
    made = any(
        isinstance(stmt, (ast.Assign, ast.Expr))
        and isinstance(stmt.value, ast.Call)
        and last_name(stmt.value) == cls.name
        and stmt.lineno > cls.lineno
        for stmt in ctx.tree.body
    )
    if not made:
        return False
    return not any(
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and any(isinstance(t, ast.Attribute) and t.attr == attribute for t in node.targets)
        for node in ast.walk(cls)
    )


def _always_made(stmt: ast.stmt, name: str) -> bool:
    """True when running ``stmt`` surely binds ``name`` to the result of a call."""
    if isinstance(stmt, ast.Assign):
        return isinstance(stmt.value, ast.Call) and any(
            isinstance(t, ast.Name) and t.id == name for t in stmt.targets
        )
    if isinstance(stmt, ast.If):
        return any(_always_made(s, name) for s in stmt.body) and any(
            _always_made(s, name) for s in stmt.orelse
        )
    return False


def _on_main_thread_only(ctx: ModuleContext, hit: Hit, target: ast.expr, value: ast.expr) -> Hit:
    """``hit`` as ``info`` when only the main thread can run the creation: it is guarded by
    a main-thread test, or it calls ``signal.signal()`` (which raises on any other thread)."""
    if ctx.main_thread_only(target):
        why = "a test lets only the main thread in"
    elif any(ctx.is_call_to(n, "signal.signal") for n in ast.walk(value)):
        why = "signal.signal() works only there"
    else:
        return hit
    node, rule, message = hit[0], hit[1], hit[2]
    return (node, rule, f"{message}; only the main thread runs it ({why})", INFO)


def _singleton_hit(  # noqa: PLR0911, PLR0912 - one return per kind of singleton
    ctx: ModuleContext,
    function: FunctionNode,
    *,
    check: ast.If,
    tested: list[ast.expr],
    target: ast.expr,
    value: ast.expr,
    declared_global: set[str],
) -> Hit | None:
    tested_text = {dotted(t) for t in tested} - {""}
    if isinstance(target, ast.Name) and target.id in declared_global and target.id in tested_text:
        if _made_at_import(ctx, target.id):
            return (
                check,
                "singleton-global",
                f"global '{target.id}' is checked then assigned without a lock, but the "
                "module makes it at import and nothing sets it back to None: the check "
                "never finds it missing",
                INFO,
            )
        fresh = _fresh_value(ctx, value)
        if fresh:
            return (
                check,
                "singleton-global",
                f"global '{target.id}' is checked then assigned without a lock, and each "
                f"caller computes a different value ({fresh}): the first caller's is replaced",
            )
        if isinstance(value, ast.Constant) and _work_after(ctx, target):
            return (
                check,
                "singleton-global",
                f"global '{target.id}' is set before the work it marks is done, without a "
                "lock: a second caller finds it set and goes on while the first is still "
                "working",
            )
        if _immutable_result(ctx, value):
            return (
                check,
                "singleton-global",
                f"global '{target.id}' is checked then set without a lock (a memo of an "
                "immutable value computed the same way every time: a duplicate is equal)",
                INFO,
            )
        if not isinstance(value, ast.Call):  # saves an existing object: nothing is built twice
            return (
                check,
                "singleton-global",
                f"global '{target.id}' is checked then set without a lock (no object is "
                "created: at worst one assignment wins)",
                INFO,
            )
        if _configured_after(ctx, target):
            return (
                check,
                "singleton-global",
                f"global '{target.id}' is published before it is configured, without a "
                "lock: a caller that finds it set can use it half made",
            )
        if not (
            _identity_matters(ctx, value, function, target)
            or _owns_resource(ctx, value)
            or _filled_by_callers(ctx, function, target, check)
        ):
            return (
                check,
                "singleton-global",
                f"global '{target.id}' is checked then set without a lock to "
                f"{_memo_kind(value)}, which holds no lock or resource of its own: a "
                "duplicate is made and one is kept",
                INFO,
            )
        return (
            check,
            "singleton-global",
            f"global '{target.id}' is checked then assigned without a lock",
        )
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        owner = target.value.id
        for test in ast.walk(check.test):
            if (
                isinstance(test, ast.Call)
                and call_name(test) in {"hasattr", "getattr"}
                and len(test.args) >= 2
                and dotted(test.args[0]) == owner
                and isinstance(test.args[1], ast.Constant)
                and test.args[1].value == target.attr
                and owner in _function_names(ctx)  # an attribute of a function, not of data
                and owner not in _local_names(ctx, function)  # a parameter or local shadows it
            ):
                return (
                    check,
                    "singleton-function-attr",
                    f"'{owner}.{target.attr}' is created on first call without a lock",
                )
        cls = ctx.class_of(function)
        if (
            (owner == "cls" or (cls is not None and owner == cls.name))
            and dotted(target) in tested_text
            # __init__ and __new__ run for every instance, on whichever thread makes it:
            # state they keep on the class is shared (only class creation is not).
            and function.name != "__init_subclass__"
        ):
            if cls is not None and _instance_made_at_import(ctx, cls, target.attr):
                return (
                    check,
                    "singleton-class-cache",
                    f"class attribute '{dotted(target)}' is checked then created without a "
                    f"lock, but the module makes a '{cls.name}' at import, under the import "
                    "lock, and nothing sets it back: the check never finds it missing",
                    INFO,
                )
            if _memo_of_constants(ctx, check, target):
                return (
                    check,
                    "singleton-class-cache",
                    f"class attribute '{dotted(target)}' is checked then set without a lock "
                    "to an immutable value computed the same way by every caller (a "
                    "version, a flag): a duplicate is equal",
                    INFO,
                )
            if not _identity_matters(ctx, value, function, target):
                return (
                    check,
                    "singleton-class-cache",
                    f"class attribute '{dotted(target)}' is checked then set without a lock "
                    f"to {_memo_kind(value)}: a duplicate is made again and one is kept",
                    INFO,
                )
            return (
                check,
                "singleton-class-cache",
                f"class attribute '{dotted(target)}' is checked then created without a lock",
            )
        if (
            owner == "self"
            and dotted(target) in tested_text
            and function.name not in _NOT_SHARED_METHODS
            and ctx.threaded(check)
        ):
            if _immutable_result(ctx, value):
                return (
                    check,
                    "singleton-instance-attr",
                    f"'{dotted(target)}' is checked then set without a lock (a memo of an "
                    "immutable value computed the same way every time: a duplicate is equal)",
                    INFO,
                )
            if not isinstance(value, ast.Call) or not _lazy_attribute_evidence(
                ctx, check, target.attr
            ):
                return (
                    check,
                    "singleton-instance-attr",
                    f"'{dotted(target)}' is checked then created without a lock (nothing "
                    "shows two threads reach this code: no thread or pool runs it, and no "
                    "lock of the class guards the attribute elsewhere)",
                    INFO,
                )
            # Info even with that evidence: on the evaluation's real code no lazily made
            # attribute labelled was a defect (a duplicate client, handler or proxy that
            # works as well as the first), so the pattern alone does not earn a warning.
            return (
                check,
                "singleton-instance-attr",
                f"'{dotted(target)}' is checked then created without a lock: two threads may "
                "each create one (harmful only when the object must be unique: a counter, a "
                "pool, a connection that must be closed)",
                INFO,
            )
    return None


def _identity_matters(
    ctx: ModuleContext, value: ast.expr, function: FunctionNode, target: ast.expr, depth: int = 0
) -> bool:
    """True when a duplicate of what ``value`` makes would matter: a lock, a queue, a
    thread or pool (or anything the function then ``start()``s), a connection, a file, the
    class's own instance (the singleton itself), or what a function of this module returns
    of those. Anything else is a memo of a value: two callers each make one, one is kept,
    and on the evaluation's real code that was never a defect."""
    started = {dotted(target)} - {""}  # a subscript has no dotted name
    if isinstance(value, ast.Name):  # t = Monitor(...); t.start(); cls.worker = t
        started.add(value.id)
        value = ctx.assigned_once(function, value.id) or _unpacked_from(ctx, function, value)
    if depth == 0 and any(
        isinstance(n, ast.Call)
        and last_name(n) in {"start", "subscribe"}
        and isinstance(n.func, ast.Attribute)
        and dotted(n.func.value) in started
        for n in ctx.local(function)
    ):
        return True  # cls.worker = Worker(); cls.worker.start()
    if not isinstance(value, ast.Call) or depth > 2:  # two calls deep
        return False
    resolved = ctx.resolve(call_name(value))
    last = last_name(value) or resolved.rsplit(".", 1)[-1]  # super().__call__(): no dotted name
    cls = ctx.class_of(function)
    if (
        is_lock_factory(resolved)
        or last in RESOURCE_FACTORIES
        or last in {"__new__", "__call__", "cls"}
        or (cls is not None and last == cls.name)
        or (ctx.project is not None and ctx.project.is_thread_class(last))
    ):
        return True
    made_by = _module_function(ctx, last)
    if made_by is None:
        return False
    return any(
        isinstance(r, ast.Return)
        and r.value is not None
        and _identity_matters(ctx, r.value, made_by, target, depth + 1)
        for r in ctx.local(made_by)
    )


def _owns_resource(ctx: ModuleContext, value: ast.expr) -> bool:
    """True when ``value`` makes an instance of a class of the run that makes a lock or a
    resource of its own (:attr:`ProjectIndex.resource_owners`): two such instances do not
    exclude each other (a detector's cache lock, a console's output lock)."""
    if not isinstance(value, ast.Call) or ctx.project is None:
        return False
    return last_name(value) in ctx.project.resource_owners


def _configured_after(ctx: ModuleContext, target: ast.expr) -> bool:
    """True when the block that assigns global ``target`` goes on to configure it: calls a
    method on it or sets one of its attributes (``_ctx = create_default_context()`` then
    ``_ctx.load_cert_chain(...)``). Another thread finds it set before that is done."""
    name = dotted(target)
    return bool(name) and any(
        _changes(node, name) for later in _rest_of_block(ctx, target) for node in walk_local(later)
    )


def _changes(node: ast.AST, name: str, methods: frozenset[str] | None = None) -> bool:
    """True when ``node`` calls a method of ``name`` or of one of its attributes
    (``name.load(...)``, ``name.clients.append(...)``; only the ``methods`` named, when
    given) or stores into one of its attributes or items (``name.x = v``, ``name[k] = v``)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = dotted(node.func.value)
        named = methods is None or node.func.attr in methods
        return named and (receiver == name or receiver.startswith(name + "."))
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return any(
            isinstance(t, (ast.Attribute, ast.Subscript)) and dotted(t.value) == name
            for t in assigned_targets(node)
        )
    return False


def _filled_by_callers(
    ctx: ModuleContext, function: FunctionNode, target: ast.expr, check: ast.If
) -> bool:
    """True when ``function`` goes on, after the check, to add to the global it made
    (``_registry.clients.append(client)``): a duplicate made by a second caller holds
    what only that caller added, and the first caller's additions are lost with the one
    that is replaced."""
    name = dotted(target)
    end = getattr(check, "end_lineno", check.lineno)
    return bool(name) and any(
        getattr(node, "lineno", 0) > end and _changes(node, name, _ADDERS)
        for node in ctx.local(function)
    )


_ADDERS = frozenset(
    {"append", "appendleft", "add", "extend", "insert", "update", "setdefault", "register",
     "put", "put_nowait"}
)  # fmt: skip
"""Methods that add to an object or a container it holds; calling its other methods uses
it and adds nothing that a duplicate would lose."""


def _unpacked_from(ctx: ModuleContext, function: FunctionNode, name: ast.Name) -> ast.expr:
    """The call a local was unpacked from (``fd, path = tempfile.mkstemp()``), else the
    name itself."""
    for node in ctx.local(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Tuple)
            and any(isinstance(e, ast.Name) and e.id == name.id for e in t.elts)
            for t in node.targets
        ):
            return node.value
    return name


def _memo_kind(value: ast.expr) -> str:
    name = call_name(value) if isinstance(value, ast.Call) else ""
    return f"what '{name}()' returns (a memo of a value)" if name else "a value (a memo)"


def _memo_of_constants(ctx: ModuleContext, check: ast.If, target: ast.expr) -> bool:
    """True when every value ``check``'s block stores in ``target`` is immutable and the
    same for every caller (:func:`_immutable_result`) or a constant of the module (a
    sentinel such as ``_NOT_AVAILABLE``)."""
    wanted = dotted(target)
    values = [
        value
        for stmt in check.body
        for stored, value in _stmt_assigns(stmt)
        if dotted(stored) == wanted
    ]
    return bool(values) and all(
        _immutable_result(ctx, v) or (isinstance(v, ast.Name) and _module_constant(ctx, v.id))
        for v in values
    )


def _rest_of_block(ctx: ModuleContext, target: ast.expr) -> list[ast.stmt]:
    """The statements after the one that assigns ``target``, in the same block."""
    stmt = ctx.parent(target)
    parent = ctx.parent(stmt) if stmt is not None else None
    if parent is None or not isinstance(stmt, ast.stmt):
        return []
    block = _containing_block(parent, stmt)
    return block[block.index(stmt) + 1 :] if block else []


def _work_after(ctx: ModuleContext, target: ast.expr) -> bool:
    """True when the statement assigning ``target`` is followed, in its block, by work on
    the module's own state (``_loaded = True`` then ``registry.register(...)``, or another
    global assigned): the flag is published before what it stands for, and a caller that
    finds it set uses that state half made. Work on nothing the module keeps (a warning
    shown once) is no such thing."""
    if _is_test_code(ctx, target):
        return False
    kept = ctx.module_names - {dotted(target)}
    for later in _rest_of_block(ctx, target):
        for node in walk_local(later):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and dotted(node.func.value).split(".", 1)[0] in kept
            ):
                return True
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = assigned_targets(node)
                if any(_attribute_root_name(t) in kept for t in targets):
                    return True
    return False


def _attribute_root_name(target: ast.expr) -> str:
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else ""


_SCALAR_GETTER = re.compile(r"^get(?:default)?(?:boolean|bool|int|float)$")
"""Config getters that return a scalar (``configparser``'s ``getboolean``, ``getint``)."""

_IMMUTABLE_BUILDERS = frozenset(
    {"tuple", "str", "int", "float", "bool", "bytes", "frozenset", "repr", "format"}
)
_FRESH_SOURCES = re.compile(
    r"^(uuid\.uuid[1-8]|random\.\w+|secrets\.\w+|os\.urandom|os\.getrandom|time\.\w*time\w*"
    r"|time\.monotonic\w*|itertools\.count|datetime\.datetime\.now|datetime\.datetime\.utcnow)$"
)


def _fresh_value(ctx: ModuleContext, value: ast.expr) -> str:
    """The call that makes ``value`` differ on every evaluation (a random id, a clock),
    or ``""``: a memo of such a value is an identity, and a second caller replaces the
    one the first caller has already used."""
    for node in ast.walk(value):
        if isinstance(node, ast.Call):
            name = ctx.resolve(call_name(node))
            if _FRESH_SOURCES.match(name):
                return name
    return ""


def _immutable_result(ctx: ModuleContext, value: ast.expr, depth: int = 0) -> bool:
    """True when ``value`` is an immutable value computed the same way by every caller:
    a literal, a tuple or string built from one, or a call to a function of this module
    whose every ``return`` is such a value (a version string, an environment's name)."""
    if isinstance(value, (ast.Constant, ast.JoinedStr)):
        return True
    if isinstance(value, ast.Tuple):
        return all(_immutable_result(ctx, e, depth) for e in value.elts)
    if not isinstance(value, ast.Call) or depth > 2:
        return False
    name = call_name(value)
    if name in _IMMUTABLE_BUILDERS or _SCALAR_GETTER.match(name.rsplit(".", 1)[-1]):
        return True
    function = _module_function(ctx, name)
    if function is None:
        return False
    returns = [n for n in ctx.local(function) if isinstance(n, ast.Return)]
    return bool(returns) and all(
        r.value is None or _immutable_result(ctx, r.value, depth + 1) for r in returns
    )


def _module_function(ctx: ModuleContext, name: str) -> ast.FunctionDef | None:
    """The function ``name`` defined at the top level of this module, if any."""
    return next(
        (f for f in ctx.tree.body if isinstance(f, ast.FunctionDef) and f.name == name), None
    )


def _module_constant(ctx: ModuleContext, name: str) -> bool:
    """True when ``name`` is a constant of this module: bound at module level and spelt in
    upper case (``SETTINGS_HEADER``, ``_NOT_AVAILABLE``)."""
    return name in ctx.module_names and name.lstrip("_").isupper()


def _is_lookup(name: str) -> bool:
    """A call that finds an existing object by its name: an import (``import_module``,
    ``import_string``, ``symbol_by_name``), ``getattr``, ``pydoc.locate``."""
    last = name.rsplit(".", 1)[-1].lower()
    return "import" in last or last.endswith("by_name") or last in {"getattr", "locate"}


def _found_by_name(ctx: ModuleContext, value: ast.expr, depth: int = 0) -> bool:
    """True when ``value`` is an existing object looked up by name, not made: a lookup
    call (:func:`_is_lookup`), or a call to a function of this module whose every
    ``return`` gives such a lookup, a constant or one of its own parameters (a class
    resolved from its dotted path). Two callers find the same object, so a memo of it
    loses nothing when both fill it."""
    if not isinstance(value, ast.Call) or depth > 2:
        return False
    name = ctx.resolve(call_name(value))
    if _is_lookup(name):
        return True
    function = _module_function(ctx, name)
    if function is None:
        return False
    args = function.args
    params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    returns = [n for n in ctx.local(function) if isinstance(n, ast.Return)]
    return bool(returns) and all(
        r.value is None
        or isinstance(r.value, ast.Constant)
        or (isinstance(r.value, ast.Name) and r.value.id in params)
        or _found_by_name(ctx, r.value, depth + 1)
        for r in returns
    )


def _lazy_attribute_evidence(ctx: ModuleContext, check: ast.AST, attr: str) -> bool:
    """Evidence that two threads can run a lazy ``self.attr`` creation at once, as for a
    read-modify-write: the instance is a singleton's product, a pool or several threads
    run the code, or (in a lock-owning class) the lock guards ``self.attr`` elsewhere. An
    object one thread or one event loop owns (a connection's channel, a loop's timer, a
    coroutine with no ``await`` between its check and its assignment) has none."""
    cls = ctx.class_of(check)
    if cls is None:
        return False
    if cls.name in ctx.singleton_products():
        return True
    if _reached_from_thread_entry(ctx, cls, check, ctx.pool_entries()):
        return True
    if ctx.class_has_lock(cls):
        return any(
            isinstance(n, ast.Attribute)
            and n.attr == attr
            and dotted(n.value) == "self"
            and ctx.under_lock(n)
            for n in ast.walk(cls)
        )
    return _reached_from_thread_entry(ctx, cls, check, ctx.thread_entries())


def _function_names(ctx: ModuleContext) -> set[str]:
    return {f.name for f in ctx.functions}


def _local_names(ctx: ModuleContext, function: FunctionNode) -> set[str]:
    """Names ``function`` binds itself (parameters, assignments, loop and ``with``
    targets): inside it, such a name is that object, not a module-level function."""
    args = function.args
    found = {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if a is not None
    }
    for node in ctx.local(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
    return found


def _class_caches(ctx: ModuleContext) -> Iterator[Hit]:
    """Dictionaries of instances: ``cls._instances[k] = X()`` or a module-level cache dict
    filled after ``if k not in CACHE``, outside a lock."""
    for node in ctx.nodes:
        if not isinstance(node, ast.Assign):
            continue
        function = ctx.function_of(node)
        if function is None or function.name == "__init_subclass__":
            continue
        for target in node.targets:
            if not isinstance(target, ast.Subscript):
                continue
            container = target.value
            text = dotted(container)
            if not text:
                continue
            head = text.split(".")[0]
            cls = ctx.class_of(function)
            class_level = isinstance(container, ast.Attribute) and (
                head == "cls"
                or (cls is not None and head == cls.name)
                or (head == "self" and _class_body_defines(cls, container.attr))
            )
            module_level = isinstance(container, ast.Name) and container.id in ctx.module_names
            if not (class_level or module_level):
                continue
            guarded = _guarded_by_membership(ctx, node, text)
            named_instances = "instance" in last_name(container).lower()
            if not (guarded or (class_level and named_instances)):
                continue
            value = _value_made(ctx, function, node)
            if not isinstance(value, ast.Call) or ctx.under_lock(node):
                continue
            if _found_by_name(ctx, value):
                yield (
                    guarded or node,
                    "singleton-class-cache",
                    f"'{text}[...]' is checked then filled without a lock (a memo of an "
                    "object found by name, not made: every caller finds the same one)",
                    INFO,
                )
                continue
            if function.name == "__get__":
                yield (
                    guarded or node,
                    "singleton-class-cache",
                    f"'{text}[...]' is checked then filled without a lock, in a caching "
                    "descriptor's __get__: at worst the getter runs twice and the second "
                    "value is kept (functools.cached_property accepts the same since "
                    "Python 3.12, when it dropped its lock)",
                    INFO,
                )
                continue
            if not _identity_matters(ctx, value, function, target):
                yield (
                    guarded or node,
                    "singleton-class-cache",
                    f"'{text}[...]' is checked then filled without a lock with "
                    f"{_memo_kind(value)}: a duplicate is made again and one is kept",
                    INFO,
                )
                continue
            yield (
                guarded or node,
                "singleton-class-cache",
                f"'{text}[...]' is checked then filled without a lock",
            )


def _class_body_defines(cls: ast.ClassDef | None, name: str) -> bool:
    if cls is None:
        return False
    for stmt in cls.body:
        targets = (
            stmt.targets
            if isinstance(stmt, ast.Assign)
            else [stmt.target]
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None  # not a bare hint
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def _guarded_by_membership(ctx: ModuleContext, node: ast.AST, container: str) -> ast.stmt | None:
    """The check that ``node`` (a store into ``container``) depends on: ``if k not in
    CACHE``, ``if CACHE.get(k) is None``, ``x = CACHE.get(k)`` then ``if x is None``, or
    ``try: x = CACHE[k]`` with the store in its ``except KeyError`` handler."""
    function = ctx.function_of(node)
    got = _names_got_from(ctx, function, container) if function is not None else set()
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        if isinstance(ancestor, ast.ExceptHandler) and _handler_catches(
            ancestor, frozenset({"KeyError", "LookupError"})
        ):
            try_node = ctx.parent(ancestor)
            if isinstance(try_node, ast.Try) and any(
                isinstance(n, ast.Subscript) and dotted(n.value) == container
                for stmt in try_node.body
                for n in ast.walk(stmt)
            ):
                return try_node
        if isinstance(ancestor, ast.If):
            if any(isinstance(n, ast.Name) and n.id in got for n in ast.walk(ancestor.test)):
                return ancestor
            for test in ast.walk(ancestor.test):
                if (
                    isinstance(test, ast.Compare)
                    and any(isinstance(op, (ast.NotIn, ast.In)) for op in test.ops)
                    and any(dotted(c) == container for c in test.comparators)
                ):
                    return ancestor
                if (
                    isinstance(test, ast.Call)
                    and isinstance(test.func, ast.Attribute)
                    and test.func.attr == "get"
                    and dotted(test.func.value) == container
                ):
                    return ancestor
    return None


def _names_got_from(ctx: ModuleContext, function: FunctionNode, container: str) -> set[str]:
    """Locals of ``function`` bound to ``container.get(...)`` (``lock = LOCKS.get(key)``)."""
    return {
        t.id
        for n in ctx.local(function)
        if isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Call)
        and isinstance(n.value.func, ast.Attribute)
        and n.value.func.attr == "get"
        and dotted(n.value.func.value) == container
        for t in n.targets
        if isinstance(t, ast.Name)
    }


def _value_made(ctx: ModuleContext, function: FunctionNode, store: ast.Assign) -> ast.expr:
    """What ``store`` puts in the cache: its value, or, for a local (``CACHE[k] = lock``),
    the call that local was last bound to before the store (``lock = Lock()``)."""
    value = store.value
    if not isinstance(value, ast.Name):
        return value
    bound = [
        n
        for n in ctx.local(function)
        if isinstance(n, ast.Assign)
        and n.lineno < store.lineno
        and any(isinstance(t, ast.Name) and t.id == value.id for t in n.targets)
    ]
    if bound:
        latest = max(bound, key=lambda n: (n.lineno, n.col_offset))
        if isinstance(latest.value, ast.Call):
            return latest.value
    return value


# --------------------------------------------------------------------------------------
# SQLite
# --------------------------------------------------------------------------------------


def _is_connect(ctx: ModuleContext, node: ast.AST) -> bool:
    return ctx.is_call_to(node, "sqlite3.connect", "sqlite3.dbapi2.connect")


def check_sqlite(ctx: ModuleContext) -> Iterator[Hit]:
    """``sqlite-connect-per-call``, ``sqlite-shared-connection``, ``sqlite-use-after-return``,
    ``sqlite-missing-commit``."""
    for node in ctx.nodes:
        if _is_connect(ctx, node):
            assert isinstance(node, ast.Call)
            hit = _connect_per_call(ctx, node)
            if hit is not None:
                yield hit
            hit = _shared_connection(ctx, node)
            if hit is not None:
                yield hit
    yield from _shared_cursors(ctx)
    for cls in ctx.classes:
        yield from _connect_helper_per_call(ctx, cls)
    for function in _functions(ctx):
        yield from _use_after_return(ctx, function)
    yield from _missing_commit(ctx)
    if "sqlite3" in ctx.aliases.values():
        for function in _functions(ctx):
            yield from _pool_returns_uncommitted(ctx, function)


def _connect_per_call(ctx: ModuleContext, call: ast.Call) -> Hit | None:  # noqa: PLR0911
    function = ctx.function_of(call)
    parent = ctx.parent(call)
    if isinstance(parent, ast.Call) and last_name(parent) == "closing":
        parent = ctx.parent(parent)  # with closing(sqlite3.connect(...)) as conn
    if isinstance(parent, ast.withitem):
        local: str | None = None
        escaped = False
    elif isinstance(parent, ast.Assign) and isinstance(parent.targets[0], ast.Name):
        local = parent.targets[0].id
        escaped = function is not None and _escapes(ctx, function, local)
    else:
        return None
    if function is not None and local is not None and escaped:
        if _lends_and_closes(ctx, function, local):
            return (
                call,
                "sqlite-connect-per-call",
                f"'{function.name}' opens, lends and closes a connection on every call",
                INFO,
            )
        return None
    if ctx.in_loop(call):
        return (call, "sqlite-connect-per-call", "sqlite3.connect() on every loop iteration")
    if function is None or ctx.method_class(function) is None:
        return None
    if _SETUP_METHOD.search(function.name):
        return None
    if local is not None and not _uses_connection(ctx, function, local):
        return None
    return (  # one connection per operation is thread-safe; it costs only in a hot path
        call,
        "sqlite-connect-per-call",
        f"method '{function.name}' opens a new connection on every call",
        INFO,
    )


def _connect_helper_per_call(ctx: ModuleContext, cls: ast.ClassDef) -> Iterator[Hit]:
    """``with closing(self._connect()) as conn:`` in an ordinary method, where
    ``_connect`` returns a fresh ``sqlite3.connect()``: a connection per call, by proxy."""
    factories: set[str] = set()
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        fresh = {
            t.id
            for n in ctx.local(method)
            if isinstance(n, ast.Assign) and _is_connect(ctx, n.value)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for n in ctx.local(method):
            if (
                isinstance(n, ast.Return)
                and n.value is not None
                and (
                    _is_connect(ctx, n.value)
                    or (isinstance(n.value, ast.Name) and n.value.id in fresh)
                )
            ):
                factories.add(method.name)
    if not factories:
        return
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if method.name in factories or _SETUP_METHOD.search(method.name):
            continue
        for node in ctx.local(method):
            if not isinstance(node, ast.withitem):
                continue
            expr = node.context_expr
            if isinstance(expr, ast.Call) and last_name(expr) == "closing" and expr.args:
                expr = expr.args[0]
            callee = dotted(expr.func) if isinstance(expr, ast.Call) else ""
            if callee.startswith("self.") and callee[5:] in factories:
                yield (
                    expr,
                    "sqlite-connect-per-call",
                    f"method '{method.name}' opens a new connection on every call "
                    f"(through '{callee}()')",
                    INFO,
                )
                break


def _uses_connection(ctx: ModuleContext, function: FunctionNode, local: str) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == local
        and node.attr in {"execute", "executemany", "executescript", "cursor"}
        for node in ctx.local(function)
    )


def _escapes(ctx: ModuleContext, function: FunctionNode, local: str) -> bool:
    """True when the connection leaves the function (returned, yielded, stored, queued)."""
    for node in ctx.local(function):
        if isinstance(node, ast.Return) and node.value is not None and _mentions(node.value, local):
            return True
        if (
            isinstance(node, (ast.Yield, ast.YieldFrom))
            and node.value is not None
            and _mentions(node.value, local)
        ):
            return True
        if (
            isinstance(node, ast.Assign)
            and _mentions(node.value, local)
            and any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in node.targets)
        ):
            return True
        if (
            isinstance(node, ast.Call)
            and last_name(node) in {"put", "append", "add", "put_nowait"}
            and any(_mentions(a, local) for a in node.args)
        ):
            return True
    return False


def _lends_and_closes(ctx: ModuleContext, function: FunctionNode, local: str) -> bool:
    """A context manager that yields a fresh connection and closes it afterwards."""
    decorated = any(
        last_name(d) in {"contextmanager", "asynccontextmanager"} for d in function.decorator_list
    )
    yields = any(
        isinstance(n, ast.Yield) and n.value is not None and _mentions(n.value, local)
        for n in ctx.local(function)
    )
    closes = any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "close"
        and dotted(n.func.value) == local
        for n in ctx.local(function)
    )
    return decorated and yields and closes


def _mentions(expr: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(expr))


def _shared_connection(ctx: ModuleContext, call: ast.Call) -> Hit | None:  # noqa: PLR0911
    shares = any(
        kw.arg == "check_same_thread"
        and isinstance(kw.value, ast.Constant)
        and kw.value.value is False
        for kw in call.keywords
    )
    if not shares:
        return None
    parent = ctx.parent(call)
    if not isinstance(parent, (ast.Assign, ast.AnnAssign)):
        return None
    target = parent.targets[0] if isinstance(parent, ast.Assign) else parent.target
    target = _kept_as_attribute(ctx, target)
    stored = dotted(target)
    if isinstance(target, ast.Attribute) and stored.split(".")[0] in {"self", "cls"}:
        cls = ctx.class_of(call)
        scope: ast.AST | None = cls
    elif isinstance(target, ast.Name) and (
        ctx.function_of(call) is None or target.id in ctx.module_names
    ):
        scope = ctx.tree
    else:
        return None
    if scope is None:
        return None
    unlocked = _unlocked_uses(ctx, scope, target, exclude=call)
    if unlocked is None:
        return None
    if scope is not ctx.tree and not (ctx.shared_class(call) or ctx.starts_threads()):
        return (
            call,
            "sqlite-shared-connection",
            f"'{stored}' (check_same_thread=False) is used without a lock at line {unlocked}; "
            "nothing here shares it between threads (the caller may)",
            INFO,
        )
    return (
        call,
        "sqlite-shared-connection",
        f"'{stored}' (check_same_thread=False) is used without a lock at line {unlocked}",
    )


def _kept_as_attribute(ctx: ModuleContext, target: ast.expr) -> ast.expr:
    """The ``self.x`` a connection made into a local is then kept in
    (``conn = connect(...); self._conn = conn``), or ``target`` itself."""
    function = ctx.function_of(target)
    if not isinstance(target, ast.Name) or function is None:
        return target
    for node in ctx.local(function):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id == target.id
        ):
            for kept in node.targets:
                if isinstance(kept, ast.Attribute) and dotted(kept).split(".")[0] == "self":
                    return kept
    return target


def _unlocked_uses(
    ctx: ModuleContext, scope: ast.AST, target: ast.expr, *, exclude: ast.AST
) -> int | None:
    """Line of the first use of ``target``'s object outside a lock (``__init__`` aside)."""
    wanted = dotted(target)
    for node in ast.walk(scope):
        if node is target or not isinstance(node, (ast.Attribute, ast.Name)):
            continue
        if not isinstance(getattr(node, "ctx", None), ast.Load) or dotted(node) != wanted:
            continue
        if not isinstance(ctx.parent(node), ast.Attribute):
            continue  # passed along or tested, not used
        function = ctx.function_of(node)
        if function is None or function.name in _NOT_SHARED_METHODS:
            continue
        if ctx.under_lock(node):
            continue
        return getattr(node, "lineno", 0)
    return None


def _shared_cursors(ctx: ModuleContext) -> Iterator[Hit]:
    """``self.cursor = self.conn.cursor()`` in a class used from threads."""
    for node in ctx.nodes:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if last_name(node.value) != "cursor" or not isinstance(node.value.func, ast.Attribute):
            continue
        target = node.targets[0]
        if not (isinstance(target, ast.Attribute) and dotted(target).startswith("self.")):
            continue
        cls = ctx.class_of(node)
        if cls is None or not ctx.threaded(node):
            continue
        unlocked = _unlocked_uses(ctx, cls, target, exclude=node)
        if unlocked is None:
            continue
        if ctx.shared_class(node):
            yield (
                node,
                "sqlite-shared-connection",
                f"cursor '{dotted(target)}' is shared by every caller; used without a lock "
                f"at line {unlocked}",
            )
        else:
            yield (
                node,
                "sqlite-shared-connection",
                f"cursor '{dotted(target)}' is kept on the instance and used without a lock "
                f"at line {unlocked}; nothing shows the instance is shared between threads",
                INFO,
            )


def _pool_with_target(ctx: ModuleContext, item: ast.withitem) -> str | None:
    expr = item.context_expr
    if not isinstance(expr, ast.Call) or not isinstance(item.optional_vars, ast.Name):
        return None
    if _is_connect(ctx, expr) or last_name(expr) not in _POOL_CHECKOUT:
        return None
    return item.optional_vars.id


def _use_after_return(  # noqa: PLR0912 - one branch per kind of event
    ctx: ModuleContext, function: FunctionNode
) -> Iterator[Hit]:
    # Events in source order: (line, col, order, kind, name, node).
    events: list[tuple[int, int, int, str, str, ast.AST]] = []
    for node in ctx.local(function):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                name = _pool_with_target(ctx, item)
                if name is not None:
                    end_line = node.end_lineno or node.lineno
                    end_col = node.end_col_offset or 0
                    events.append((node.lineno, node.col_offset, 1, "checkout", name, node))
                    events.append((end_line, end_col, 0, "return", name, node))
        elif isinstance(node, ast.Name):
            kind = "load" if isinstance(node.ctx, ast.Load) else "store"
            events.append((node.lineno, node.col_offset, 2, kind, node.id, node))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    live: dict[str, ast.AST] = {}  # name -> the with block it belongs to
    returned: dict[str, int] = {}  # name -> line where its connection went back
    for line, _col, _order, kind, name, node in events:
        if kind == "checkout":
            live[name] = node
            returned.pop(name, None)
        elif kind == "return":
            for held, block in list(live.items()):
                if block is node:
                    del live[held]
                    returned[held] = line
        elif kind == "store":
            holder = ctx.parent(node)
            if isinstance(holder, ast.withitem) and _pool_with_target(ctx, holder) == name:
                continue  # the checkout itself, already recorded
            returned.pop(name, None)
            live.pop(name, None)
            source = _assigned_from(ctx, node)
            if source is not None:
                derived = _derived_from_live(source, live)
                if derived is not None:
                    live[name] = derived
        elif kind == "load" and name in returned:
            holder = ctx.parent(node)
            if isinstance(holder, ast.Attribute) and holder.attr in _CURSOR_DATA:
                continue  # ``cur.rowcount``: a value the cursor kept, no connection used
            yield (
                node,
                "sqlite-use-after-return",
                f"'{name}' is used after its pooled connection was returned "
                f"(line {returned[name]})",
            )
            returned.pop(name)


def _assigned_from(ctx: ModuleContext, name_node: ast.AST) -> ast.expr | None:
    parent = ctx.parent(name_node)
    if isinstance(parent, ast.Assign) and name_node in parent.targets:
        return parent.value
    if isinstance(parent, ast.withitem) and parent.optional_vars is name_node:
        return parent.context_expr
    return None


def _derived_from_live(source: ast.expr, live: dict[str, ast.AST]) -> ast.AST | None:
    """The with block when ``source`` is ``conn.cursor()`` / ``conn.execute(...)`` of a live
    pooled connection."""
    if isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute):
        if source.func.attr in _FETCHES:
            return None  # rows are plain data: they outlive the connection safely
        receiver = source.func.value
        if isinstance(receiver, ast.Name) and receiver.id in live:
            return live[receiver.id]
    return None


def _pool_returns_uncommitted(ctx: ModuleContext, function: FunctionNode) -> Iterator[Hit]:
    """A pool's context manager that yields a connection and puts it back without a commit
    or a rollback (upstream's lost-commit defect)."""
    if not any(last_name(d) == "contextmanager" for d in function.decorator_list):
        return
    yielded = {
        n.value.id
        for n in ctx.local(function)
        if isinstance(n, ast.Yield) and isinstance(n.value, ast.Name)
    }
    ends = any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in {"commit", "rollback", "close"}
        for n in ctx.local(function)
    )
    if not yielded or ends:
        return
    for node in ctx.local(function):
        if (
            isinstance(node, ast.Call)
            and last_name(node) in {"put", "put_nowait", "append", "release", "_release"}
            and any(isinstance(a, ast.Name) and a.id in yielded for a in node.args)
        ):
            if _autocommit_module(ctx):
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"'{function.name}' gives the connection back without a commit or a "
                    "rollback; this module's connections are in autocommit mode, so only a "
                    "transaction a caller began explicitly could be left open",
                    INFO,
                )
                return
            yield (
                node,
                "sqlite-missing-commit",
                f"'{function.name}' gives the connection back without a commit or a rollback",
            )
            return


def _sql_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _sql_text(node.values[0])
    if isinstance(node, ast.BinOp):
        return _sql_text(node.left)
    return ""


def _autocommit_module(ctx: ModuleContext) -> bool:
    """True when the module opens its connections in autocommit mode
    (``isolation_level=None`` or ``autocommit=True``): sqlite3 then begins no transaction
    on its own, so a write is committed when it runs."""
    return any(opens_autocommit(node) for node in ctx.nodes)


def _missing_commit(ctx: ModuleContext) -> Iterator[Hit]:  # noqa: PLR0912
    if _autocommit_module(ctx):
        return  # autocommit connections need no commit
    for function in _functions(ctx):
        params = {a.arg for a in (*function.args.posonlyargs, *function.args.args)}
        params |= {a.arg for a in function.args.kwonlyargs}
        params -= {"self", "cls"}
        calls = sorted(
            (n for n in ctx.local(function) if isinstance(n, ast.Call)),
            key=lambda n: (n.lineno, n.col_offset),
        )
        for node in calls:
            if not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr not in EXECUTE_METHODS or not node.args:
                continue
            if not _WRITE_SQL.match(_sql_text(node.args[0])):
                continue
            root = dotted(node.func.value).split(".")[0]
            if root in params or _derived_from_param(ctx, function, root, params):
                continue  # the caller owns the transaction
            if _commits_after(ctx, node):
                continue
            verb = _WRITE_SQL.match(_sql_text(node.args[0]))
            assert verb is not None
            verdict, checkout = _transaction(ctx, node)
            if verdict == "commits":
                continue
            # Only a connection that outlives the call (kept on the object or the module)
            # can be committed by the caller; one opened here is lost with the function.
            kept = root in {"self", "cls"} or root in ctx.module_names
            flag = _commit_on_request(ctx, function, node, params) if kept else ""
            if verdict == "none" and flag:
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"{verb.group(1).upper()} in '{function.name}' is committed unless the "
                    f"caller passes '{flag}' to commit it itself",
                    INFO,
                )
                break
            outer = ctx.function_of(function)
            if verdict == "none" and outer is not None and _commits_later(ctx, outer, function):
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"{verb.group(1).upper()} in '{function.name}' is committed by the "
                    f"enclosing '{outer.name}' after it (a worker's write, committed when the "
                    "workers are done)",
                    INFO,
                )
                break
            committer = _committed_elsewhere(ctx, function, root) if kept else ""
            owner = "class" if root in {"self", "cls"} else "module"
            if verdict == "none" and committer:
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"{verb.group(1).upper()} in '{function.name}' is left for "
                    f"'{committer}()' to commit: the {owner} "
                    "batches its writes on the connection it keeps (check that every path "
                    "ends there, at close included)",
                    INFO,
                )
                break
            if verdict == "never":
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"{verb.group(1).upper()} in '{function.name}' runs inside "
                    f"'{checkout}()', which never commits ({_where(ctx, checkout)}): "
                    "the write is lost or left pending",
                )
            elif verdict == "unverified":
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"{verb.group(1).upper()} in '{function.name}' relies on '{checkout}()' "
                    "to commit, and its definition is not among the files audited",
                    INFO,
                )
            elif _in_test(ctx, node):
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"{verb.group(1).upper()} in '{function.name}' is not committed on every "
                    "path; it is in a test, whose data is scratch",
                    INFO,
                )
            elif wrapper := _committing_wrapper(ctx, node):
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"{verb.group(1).upper()} in '{function.name}' goes through "
                    f"'{node.func.attr}()', which the run defines as a database wrapper that "
                    f"commits each statement ({wrapper.path}:{wrapper.line}); the receiver is "
                    "not a connection made here",
                    INFO,
                )
            else:
                yield (
                    node,
                    "sqlite-missing-commit",
                    f"{verb.group(1).upper()} in '{function.name}' is not committed on every path",
                )
            break  # one per function is enough to fix it


def _committing_wrapper(ctx: ModuleContext, call: ast.Call) -> Checkout | None:
    """The run's definition of the method ``call`` runs (``db.execute(sql)``) when every
    definition of that name commits and ``call``'s receiver is not a connection this module
    makes (``self.conn = sqlite3.connect(...)``): a database wrapper's statement."""
    if ctx.project is None or not isinstance(call.func, ast.Attribute):
        return None
    wrapper = ctx.project.committing_executor(call.func.attr)
    if wrapper is None:
        return None
    receiver = dotted(call.func.value)
    for node in ctx.nodes:
        if (
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and isinstance(node.value, ast.Call)
            and last_name(node.value) in {"connect", "cursor"}
            and any(dotted(t) == receiver for t in assigned_targets(node))
        ):
            return None  # a raw connection (or its cursor), not the wrapper
    return wrapper


def _committed_elsewhere(ctx: ModuleContext, function: FunctionNode, root: str) -> str:
    """The name of another function that commits the connection ``root`` reaches, when the
    connection is kept (``self.conn`` in a class, ``conn`` at module level): a class that
    writes in ``remove()`` and commits in ``save()`` or ``close()`` batches its writes on
    purpose, and the transaction is its own. ``""`` otherwise."""
    if root in {"self", "cls"}:
        scope: ast.AST | None = ctx.method_class(function)
    else:
        scope = ctx.tree
    if scope is None:
        return ""
    for other in ast.walk(scope):
        if other is function or not isinstance(other, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if root in {"self", "cls"} and ctx.method_class(other) is not scope:
            continue  # a method of a nested class keeps its own connection
        if other.name in _NOT_SHARED_METHODS:
            continue  # runs once, before any write: it commits the schema, not the batch
        for node in ctx.local(other):
            if (  # ``await conn.commit()`` holds the same call
                isinstance(node, ast.Call)
                and is_commit_call(node)
                and isinstance(node.func, ast.Attribute)
                and dotted(node.func.value).split(".")[0] == root
            ):
                return other.name
    return ""


def _commit_on_request(
    ctx: ModuleContext, function: FunctionNode, write: ast.AST, params: set[str]
) -> str:
    """The parameter when the function commits after ``write`` under a test of its own
    parameters alone (``if not delay_commit: self.conn.commit()``): the caller who skips
    it asked to commit itself. ``""`` otherwise."""
    for node in ctx.local(function):
        if not isinstance(node, ast.If) or node.lineno <= getattr(write, "lineno", 0):
            continue
        names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
        if names and names <= params and any(_surely_commits(s) for s in node.body):
            return sorted(names)[0]
    return ""


def _commits_later(ctx: ModuleContext, outer: FunctionNode, inner: FunctionNode) -> bool:
    """True when ``outer`` commits after the end of ``inner``, a function it defines (and
    hands to threads, or calls): the transaction is the enclosing function's."""
    end = getattr(inner, "end_lineno", inner.lineno)
    return any(
        is_commit_call(n) and getattr(n, "lineno", 0) > end
        for n in ctx.local(outer)
        if isinstance(n, (ast.Call, ast.Await))
    )


def _is_test_code(ctx: ModuleContext, node: ast.AST) -> bool:
    """True when ``node`` is test code: in a test module, or in a test (:func:`_in_test`)."""
    return ctx.is_test_module or _in_test(ctx, node)


def _in_test(ctx: ModuleContext, node: ast.AST) -> bool:
    """True when ``node`` runs inside a test (a ``test_*`` function, a ``test*`` method of a
    ``TestCase``, or a function nested in one): what a test writes is scratch data it throws
    away, so a write it leaves uncommitted loses nothing a user keeps."""
    for ancestor in ctx.ancestors(node):
        if not isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if ancestor.name == "test" or ancestor.name.startswith("test_"):
            return True
        cls = ctx.method_class(ancestor)
        if (
            ancestor.name.startswith("test")
            and cls is not None
            and any(last_name(b).endswith("TestCase") for b in cls.bases)
        ):
            return True
    return False


def _derived_from_param(
    ctx: ModuleContext, function: FunctionNode, name: str, params: set[str]
) -> bool:
    """True when local ``name`` was made from a connection the caller passed
    (``cur = conn.cursor()``), not opened here from an argument (``sqlite3.connect(path)``)."""
    for node in ctx.local(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            value = node.value
            return (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and dotted(value.func.value).split(".", 1)[0] in params
            )
    return False


def _where(ctx: ModuleContext, name: str) -> str:
    found = ctx.project.lookup(name) if ctx.project is not None else []
    return ", ".join(f"{c.path}:{c.line}" for c in found) or "definition not found"


def _transaction(ctx: ModuleContext, node: ast.AST) -> tuple[str, str]:  # noqa: PLR0911
    """Whether the ``with`` blocks around ``node`` commit it.

    Returns ``("commits", "")``, ``("never", name)`` when the context manager ``name`` is
    defined in the audited files and never commits, ``("unverified", name)`` when a
    connection checkout's definition was not audited, or ``("none", "")``."""
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            break
        if not isinstance(ancestor, (ast.With, ast.AsyncWith)):
            continue
        for item in ancestor.items:
            expr = item.context_expr
            if isinstance(expr, (ast.Name, ast.Attribute)) and not ctx.is_lockish(expr):
                return "commits", ""  # ``with conn:`` commits or rolls back
            if _is_connect(ctx, expr):
                return "commits", ""
            if not isinstance(expr, ast.Call) or ctx.is_lockish(expr):
                continue  # a lock beside the checkout (``with lock(), connect() as db:``)
            name = last_name(expr)
            defined = ctx.project.lookup(name) if ctx.project is not None else []
            if defined:
                if any(c.commits for c in defined):
                    return "commits", ""
                return "never", name
            if _TRANSACTION_CM.search(name):
                return "commits", ""  # ``with db.transaction():`` -- named for what it does
            if name in _POOL_CHECKOUT:
                return "unverified", name
    return "none", ""


def _surely_commits(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Expr):
        return is_commit_call(stmt.value)
    if isinstance(stmt, ast.If):
        if _block_commits(stmt.body) and _guards_the_connection(stmt):
            return True
        return _block_commits(stmt.body) and _block_commits(stmt.orelse)
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return _block_commits(stmt.body)
    if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
        body: list[ast.stmt] = getattr(stmt, "body", [])
        final: list[ast.stmt] = getattr(stmt, "finalbody", [])
        return _block_commits(body) or _block_commits(final)
    return False


def _guards_the_connection(stmt: ast.If) -> bool:
    """True for ``if conn is not None: conn.commit()`` (or ``if conn:``) with no ``else``:
    the test only asks whether there is a connection to commit, and without one nothing
    could have been written through it."""
    if stmt.orelse:
        return False
    tested = next((dotted(t) for t in _present_test(stmt.test)), "")
    calls = [
        s.value.value if isinstance(s.value, ast.Await) else s.value
        for s in stmt.body
        if isinstance(s, ast.Expr)
    ]
    return bool(tested) and any(
        is_commit_call(c)
        and isinstance(c, ast.Call)
        and isinstance(c.func, ast.Attribute)
        and dotted(c.func.value) == tested
        for c in calls
    )


def _may_leave(stmt: ast.stmt) -> bool:
    return any(isinstance(n, (ast.Return, ast.Raise)) for n in walk_local(stmt))


def _block_commits(stmts: list[ast.stmt]) -> bool:
    for stmt in stmts:
        if _surely_commits(stmt):
            return True
        if _may_leave(stmt):
            return False
    return False


def _commits_after(ctx: ModuleContext, node: ast.AST) -> bool:  # noqa: PLR0911, PLR0912
    """True when every normal path from ``node`` to the end of its function commits."""
    current: ast.AST = node
    while not isinstance(current, ast.stmt):
        parent = ctx.parent(current)
        if parent is None:
            return False
        current = parent
    while True:
        parent = ctx.parent(current)
        if parent is None or isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if parent is not None:
                return _rest_commits(parent.body, current)
            return False
        block = _containing_block(parent, current)
        if block is not None:
            rest = block[block.index(current) + 1 :]  # type: ignore[arg-type]
            if _block_commits(rest):
                return True
            if any(_may_leave(s) for s in rest):
                return False
        if isinstance(parent, ast.Try) or type(parent).__name__ == "TryStar":
            final: list[ast.stmt] = getattr(parent, "finalbody", [])
            orelse: list[ast.stmt] = getattr(parent, "orelse", [])
            if block is getattr(parent, "body", None) and _block_commits(orelse):
                return True
            if _block_commits(final):
                return True
        if isinstance(parent, ast.ExceptHandler):
            try_node = ctx.parent(parent)
            if try_node is not None and _block_commits(getattr(try_node, "finalbody", [])):
                return True
            if try_node is None:
                return False
            current = try_node
            continue
        current = parent


def _rest_commits(body: list[ast.stmt], current: ast.AST) -> bool:
    if current not in body:
        return False
    return _block_commits(body[body.index(current) + 1 :])


def _containing_block(parent: ast.AST, child: ast.AST) -> list[ast.stmt] | None:
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and child in block:
            return block
    return None


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def _open_mode(ctx: ModuleContext, call: ast.Call) -> str | None:  # noqa: PLR0911
    """The mode string of ``open(path, mode)`` / ``path.open(mode)``, or None."""
    name = ctx.resolve(call_name(call))
    mode: ast.expr | None = None
    if name in {"open", "io.open", "codecs.open"}:
        mode = call.args[1] if len(call.args) > 1 else None
    elif isinstance(call.func, ast.Attribute) and call.func.attr == "open":
        if name.startswith(("os.", "gzip.", "tarfile.", "zipfile.", "shelve.", "dbm.")):
            return None
        if _filesystem_open(call):
            if _ARCHIVE.search(last_name(call.func.value)):
                return None  # a member of an archive being written, not a file
            mode = call.args[1] if len(call.args) > 1 else None
        else:
            mode = call.args[0] if call.args else None
    else:
        return None
    for kw in call.keywords:
        if kw.arg == "mode":
            mode = kw.value
        if kw.arg == "closefd":
            return None  # a file descriptor (a pipe, a socket), not a path
    if mode is None:
        return "r"
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return mode.value if _MODE.match(mode.value) else None  # not ``zf.open("new.txt")``
    return None


_MODE = re.compile(r"^[rwxabtU+]+$")


def _open_path(call: ast.Call) -> ast.expr | None:
    if _filesystem_open(call):
        return call.args[0]
    if isinstance(call.func, ast.Attribute) and call.func.attr == "open":
        return call.func.value
    return call.args[0] if call.args else None


_ARCHIVE = re.compile(r"zip|tar|archive", re.IGNORECASE)


def _filesystem_open(call: ast.Call) -> bool:
    """True for ``fs.open(path, "w")``: a method ``open`` whose first argument is not a
    string but which is given a mode string after it, so the first is the path (a
    filesystem object's open, as in fsspec or dvc); ``path.open("w")`` takes the mode
    first."""
    if not isinstance(call.func, ast.Attribute) or call.func.attr != "open" or not call.args:
        return False
    if isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return False
    modes = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "mode")]
    return any(isinstance(m, ast.Constant) and isinstance(m.value, str) for m in modes)


_TEMP_NAME = re.compile(r"tmp|temp", re.IGNORECASE)


def _is_temp(expr: ast.AST | None) -> bool:
    if expr is None:
        return False
    return any(
        isinstance(n, (ast.Name, ast.Attribute)) and _TEMP_NAME.search(last_name(n))
        for n in ast.walk(expr)
    )


def _temp_attributes(ctx: ModuleContext, function: ast.AST) -> set[str]:
    """Attributes of the method's instance that hold a temporary directory the object
    made itself: every ``self.x = ...`` in the class is a ``tempfile`` call (or names
    one). A directory made by ``mkdtemp()`` and kept on ``self`` is as private as a
    local one: nobody else knows its name."""
    cls = ctx.method_class(function)
    if cls is None:
        return set()
    values: dict[str, list[ast.expr]] = {}
    for node in ast.walk(cls):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = assigned_targets(node)
            for target in targets:
                if isinstance(target, ast.Attribute) and dotted(target.value) == "self":
                    values.setdefault(target.attr, []).append(node.value)
    return {
        name
        for name, assigned in values.items()
        if all(isinstance(v, ast.Call) and _is_temp(v.func) for v in assigned)
    }


def _mentions_temp_attribute(expr: ast.AST, attributes: set[str]) -> bool:
    return any(
        isinstance(n, ast.Attribute) and n.attr in attributes and dotted(n.value) == "self"
        for n in ast.walk(expr)
    )


def _temp_names(ctx: ModuleContext, function: ast.AST) -> set[str]:
    """Locals of ``function`` that hold a temporary directory or a path inside one: made
    by ``tempfile``, named like one, or computed from one (``d = os.path.join(tmp.name,
    x)``), including one the object made and kept (:func:`_temp_attributes`)."""
    kept = _temp_attributes(ctx, function)
    return _locals_from(
        ctx, function, lambda value: _is_temp(value) or _mentions_temp_attribute(value, kept)
    )


def _locals_from(
    ctx: ModuleContext, function: ast.AST, is_source: Callable[[ast.expr], bool]
) -> set[str]:
    """Locals of ``function`` bound (by ``=`` or ``with ... as``), in the order of the
    code, to a value ``is_source`` accepts or to one computed from such a local."""
    found: set[str] = set()
    bindings: list[tuple[int, list[ast.expr], ast.expr]] = []
    for node in ctx.local(function):
        if isinstance(node, ast.Assign):
            bindings.append((node.lineno, node.targets, node.value))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            bindings.extend(
                (node.lineno, [item.optional_vars], item.context_expr)
                for item in node.items
                if item.optional_vars is not None
            )
    for _, targets, value in sorted(bindings, key=lambda b: b[0]):
        if is_source(value) or any(
            isinstance(n, ast.Name) and n.id in found for n in ast.walk(value)
        ):
            found.update(
                n.id
                for t in targets
                for n in ast.walk(t)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            )
    return found


_SYSTEM_TEMP_MAKERS = {  # the factory, and the position of its ``dir`` parameter
    "tempfile.NamedTemporaryFile": 6,
    "tempfile.mkstemp": 2,
    "tempfile.mkdtemp": 2,
    "tempfile.mktemp": 2,
    "tempfile.TemporaryDirectory": 2,
}


def _moves_from_system_temp(
    ctx: ModuleContext, scope: ast.AST
) -> Iterator[tuple[ast.Call, ast.expr]]:
    """``(move, destination)`` for every ``shutil.move(temp, destination)`` in ``scope``
    whose source was made by ``tempfile`` without ``dir=``: in the system temporary
    directory. The author meant an atomic replace; across filesystems ``shutil.move``
    falls back to copying into the destination, which readers then see half written."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    system_temp = _locals_from(
        ctx, scope, lambda value: isinstance(value, ast.Call) and _in_system_temp(ctx, value)
    )
    for node in ctx.local(scope):
        if (
            isinstance(node, ast.Call)
            and ctx.resolve(call_name(node)) == "shutil.move"
            and len(node.args) == 2
            and any(isinstance(n, ast.Name) and n.id in system_temp for n in ast.walk(node.args[0]))
            and not _is_temp(node.args[1])
        ):
            yield node, node.args[1]


def _in_system_temp(ctx: ModuleContext, call: ast.Call) -> bool:
    """True when ``call`` makes a temporary file or directory without naming the directory
    it goes in (``tempfile.mkstemp()``, not ``mkstemp(dir=...)``)."""
    position = _SYSTEM_TEMP_MAKERS.get(ctx.resolve(call_name(call)))
    if position is None:
        return False
    return len(call.args) <= position and not any(k.arg == "dir" for k in call.keywords)


def _in_scratch_place(ctx: ModuleContext, call: ast.AST, path: ast.expr) -> bool:
    """True when the file written is in a temporary directory: its path names one, or is
    relative after the function changed into one (``os.chdir(tmp.name)``). Nobody else
    knows such a file exists, so nobody reads it half written."""
    if _is_temp(path):
        return True
    function = ctx.function_of(call)
    if function is None:
        return False
    temp = _temp_names(ctx, function)
    if any(isinstance(n, ast.Name) and n.id in temp for n in ast.walk(path)):
        return True
    if _mentions_temp_attribute(path, _temp_attributes(ctx, function)):
        return True
    if not (
        isinstance(path, ast.Constant)
        and isinstance(path.value, str)
        and not path.value.startswith(("/", "~"))
    ):
        return False
    return any(
        isinstance(n, ast.Call)
        and ctx.is_call_to(n, "os.chdir")
        and bool(n.args)
        and (
            _is_temp(n.args[0])
            or any(isinstance(m, ast.Name) and m.id in temp for m in ast.walk(n.args[0]))
        )
        and n.lineno <= getattr(call, "lineno", 0)
        for n in ctx.local(function)
    )


_DESCRIPTOR_SOURCES = frozenset(
    {"os.pipe", "os.open", "os.dup", "os.openpty", "msvcrt.open_osfhandle", "pty.openpty"}
)


def _is_descriptor(ctx: ModuleContext, call: ast.AST, path: ast.expr) -> bool:
    """True when what is opened is a file descriptor (the end of a pipe, ``x.fileno()``),
    not a path: a stream, not a file that others read back."""
    if last_name(path) == "fileno":
        return True
    function = ctx.function_of(call)
    if function is None or not isinstance(path, ast.Name):
        return False
    for node in ctx.local(function):
        if not isinstance(node, ast.Assign):
            continue
        if not any(
            isinstance(n, ast.Name) and n.id == path.id for t in node.targets for n in ast.walk(t)
        ):
            continue
        value = node.value
        if ctx.resolve(call_name(value)) in _DESCRIPTOR_SOURCES or last_name(value) == "fileno":
            return True
    return False


def _replaces_atomically(ctx: ModuleContext, function: ast.AST) -> bool:
    for node in ctx.local(function):
        if not isinstance(node, ast.Call):
            continue
        name = ctx.resolve(call_name(node))
        if name in {"os.replace", "os.rename", "shutil.move"} or "atomic" in name.lower():
            return True
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in {"replace", "rename"}
            and len(node.args) == 1
        ):
            return True
    return False


def _written_files(  # noqa: PLR0912 - one branch per way of writing a file
    ctx: ModuleContext, scope: ast.AST
) -> Iterator[tuple[ast.Call, ast.expr]]:
    """``(call, path expression)`` of every in-place write in ``scope`` (its own function).

    An in-place write is ``open(path, "w")`` whose handle is written or dumped to, or
    ``path.write_text(json.dumps(...))``."""
    for node in ctx.local(scope):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                call = item.context_expr
                if not isinstance(call, ast.Call):
                    continue
                mode = _open_mode(ctx, call)
                if mode is None or "w" not in mode:
                    continue
                handle = item.optional_vars
                if isinstance(handle, ast.Name) and _writes_to(node, handle.id):
                    path = _open_path(call)
                    if path is not None:
                        yield call, path
        elif isinstance(node, ast.Call):
            opened = [
                a
                for a in node.args
                if isinstance(a, ast.Call) and "w" in (_open_mode(ctx, a) or "")
            ]
            if last_name(node) in _DUMPERS and opened:
                path = _open_path(opened[0])
                if path is not None:
                    yield opened[0], path
            elif (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in {"write_text", "write_bytes"}
                and node.args
                and _serialized(ctx, node)
            ):
                yield node, node.func.value
            elif isinstance(ctx.parent(node), ast.Assign):
                mode = _open_mode(ctx, node)
                target = ctx.parent(node).targets[0]  # type: ignore[union-attr]
                if mode and "w" in mode and isinstance(target, ast.Name):
                    function = ctx.function_of(node)
                    if function is not None and _writes_to(function, target.id):
                        path = _open_path(node)
                        if path is not None:
                            yield node, path


def _serialized(ctx: ModuleContext, call: ast.Call) -> bool:
    """True when what ``call`` writes is serialised state: a ``dumps()`` in its arguments,
    or a local that the function binds to one (``text = json.dumps(...)`` first)."""
    dumped = {
        n.id for n in ast.walk(call) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    values: list[ast.AST] = [call]
    function = ctx.function_of(call)
    if function is not None and dumped:
        values.extend(
            node.value
            for node in ctx.local(function)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in dumped for t in node.targets)
        )
    return any(
        isinstance(n, ast.Call) and "dump" in last_name(n).lower()
        for value in values
        for n in ast.walk(value)
    )


def _rewritten_handles(ctx: ModuleContext, scope: ast.AST) -> Iterator[tuple[ast.Call, ast.expr]]:
    """``(write call, handle)`` where ``scope`` rewrites an open file in place through a
    handle: ``h.seek(0)``, then ``h.write(...)``, then ``h.truncate()`` on the same handle
    (often one kept on the instance), or ``h.seek(0)`` and ``h.truncate()`` (or
    ``truncate(0)``) before the write. That is ``open(path, "w")`` spread over three calls:
    a reader, or a crash, between them sees the old file cut short or overwritten in part."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    calls = sorted(
        (
            n
            for n in ctx.local(scope)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        ),
        key=lambda n: (n.lineno, n.col_offset),
    )
    seeks: dict[str, int] = {}
    emptied: set[str] = set()  # handles truncated to nothing before anything was written
    writes: dict[str, ast.Call] = {}
    for call in calls:
        assert isinstance(call.func, ast.Attribute)
        handle = dotted(call.func.value)
        if not handle:
            continue
        if call.func.attr == "seek" and _at_start(call):
            seeks.setdefault(handle, call.lineno)
        elif call.func.attr in {"write", "writelines"} and handle in seeks:
            if handle in emptied:
                yield call, call.func.value
                del seeks[handle]
                emptied.discard(handle)
            else:
                writes.setdefault(handle, call)
        elif call.func.attr == "truncate" and (not call.args or _at_start(call)):
            if handle in writes:
                yield writes.pop(handle), call.func.value
                del seeks[handle]
            elif handle in seeks or call.args:
                seeks.setdefault(handle, call.lineno)
                emptied.add(handle)


def _at_start(call: ast.Call) -> bool:
    """True for ``h.seek(0)`` and ``h.truncate(0)``: the one argument is the offset 0."""
    return (
        len(call.args) == 1
        and not call.keywords
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value == 0
    )


def _writes_to(scope: ast.AST, handle: str) -> bool:
    for node in ast.walk(scope):
        if not isinstance(node, ast.Call):
            continue
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in _WRITERS
            and dotted(node.func.value) == handle
        ):
            return True
        if _HANDLE_WRITER.search(last_name(node)) and any(
            dotted(a) == handle for a in (*node.args, *(k.value for k in node.keywords))
        ):
            return True  # ``json.dump(x, f)``, ``csv.writer(f)``, ``config.write(f)``
    return False


_HANDLE_WRITER = re.compile(r"write|dump|save|serial|copyfileobj", re.IGNORECASE)
"""Names of calls that write to a file handle passed to them: the dumpers, ``csv.writer``,
``ConfigParser.write(fp)``, ``tree.write(f)``, ``shutil.copyfileobj(src, f)``."""


def check_files(ctx: ModuleContext) -> Iterator[Hit]:  # noqa: PLR0912 - one branch per exemption
    """``file-in-place-write`` and ``file-per-instance-lock``."""
    scopes: list[ast.AST] = [ctx.tree, *_functions(ctx)]
    for scope in scopes:
        for move, destination in _moves_from_system_temp(ctx, scope):
            message = (
                f"'{_short(destination)}' is replaced by moving a file made in the system "
                "temporary directory: when that is another filesystem (a tmpfs /tmp), "
                "shutil.move copies it into place, truncating and rewriting the file"
            )
            if _is_test_code(ctx, move):
                yield move, "file-in-place-write", message, INFO
            else:
                yield move, "file-in-place-write", message
        if _replaces_atomically(ctx, scope):
            continue
        rewritten = list(_rewritten_handles(ctx, scope))
        for call, path in [*_written_files(ctx, scope), *rewritten]:
            if _in_scratch_place(ctx, call, path) or _is_descriptor(ctx, call, path):
                continue
            if (call, path) in rewritten and ctx.is_lockish(path):
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is a lock file rewritten through its handle: its "
                    "holder is the only writer, and readers take the lock first",
                    INFO,
                )
                continue
            if _is_test_code(ctx, call):
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is rewritten in place by test code (a test's files "
                    "are its own scratch data)",
                    INFO,
                )
                continue
            if _under_file_lock(ctx, call):
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is rewritten in place under a cross-process file lock: "
                    "readers that take it never see a partial file (a crash still can)",
                    INFO,
                )
                continue
            if asserts_lock_held(ctx.function_of(call)):
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is rewritten in place by a function that asserts its "
                    "lock is held: readers that take the lock never see a partial file (a "
                    "crash still can)",
                    INFO,
                )
                continue
            if _from_parameter(ctx, call, path) and not _loads_back(ctx, call):
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is rewritten in place; the caller chooses the path "
                    "(an export), so nothing shows another reader shares it",
                    INFO,
                )
                continue
            if _created_once_constant(ctx, call, path):
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is written only when it does not exist yet, with "
                    "content that is the same on every run: writers agree, and a reader "
                    "can only catch the first creation",
                    INFO,
                )
                continue
            if _cache_read_as_miss(ctx, call, path):
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is a cache rewritten in place, and every read of it "
                    "here takes a file it cannot parse for a miss: a torn copy is fetched "
                    "again",
                    INFO,
                )
                continue
            made = _in_made_directory(ctx, call, path)
            if made:
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is written in '{made}', which this function has just "
                    "made (making it fails if it exists): nobody else knows the file yet",
                    INFO,
                )
                continue
            function = ctx.function_of(call)
            if function is not None and _asks_the_user(ctx, function):
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is written by a command that asks at a prompt first: "
                    "a one-off a person runs, not a file rewritten while others read it",
                    INFO,
                )
                continue
            source = _kept_source(ctx, call, path)
            if source:
                yield (
                    call,
                    "file-in-place-write",
                    f"'{_short(path)}' is written from '{source}', which this function only "
                    "reads: a partial copy can be made again from the source it keeps",
                    INFO,
                )
                continue
            yield (
                call,
                "file-in-place-write",
                f"'{_short(path)}' is truncated and rewritten in place",
            )
    for cls in ctx.nodes:
        if isinstance(cls, ast.ClassDef):
            yield from _per_instance_locks(ctx, cls)


_EXISTS_TESTS = frozenset({"exists", "is_file", "isfile", "os.path.exists", "os.path.isfile"})


def _created_once_constant(ctx: ModuleContext, call: ast.AST, path: ast.expr) -> bool:
    """True when the write sits under ``if not path.exists():`` (or ``os.path.exists``)
    and writes a literal, or a dump of one (a default settings file)."""
    function = ctx.function_of(call)
    guarded = False
    for ancestor in ctx.ancestors(call):
        if ancestor is function:
            break
        if not isinstance(ancestor, ast.If):
            continue
        test = _negated(ancestor.test)
        if not isinstance(test, ast.Call):
            continue
        name = ctx.resolve(call_name(test))
        tested = (
            test.func.value
            if isinstance(test.func, ast.Attribute) and not test.args
            else (test.args[0] if test.args else None)
        )
        if (name in _EXISTS_TESTS or last_name(test) in _EXISTS_TESTS) and (
            tested is not None and _same_path(ctx, function, tested, path)
        ):
            guarded = True
            break
    if not guarded:
        return False
    contents: list[ast.expr] = []
    if isinstance(call, ast.Call) and last_name(call) in {"write_text", "write_bytes"}:
        contents = list(call.args[:1])
    else:  # open(path, "w") as handle: what is written to the handle
        with_stmt = ctx.parent(ctx.parent(call) or call)
        if isinstance(with_stmt, (ast.With, ast.AsyncWith)):
            contents = [
                a
                for n in ast.walk(with_stmt)
                if isinstance(n, ast.Call) and last_name(n) in {*_WRITERS, *_DUMPERS}
                for a in n.args[:1]
            ]
    return bool(contents) and all(_literal_content(ctx, function, c) for c in contents)


_CACHE_NAME = re.compile(r"cache", re.IGNORECASE)
_PARSE_ERRORS = frozenset(
    {
        "Exception",
        "BaseException",
        "ValueError",
        "JSONDecodeError",
        "YAMLError",
        "UnpicklingError",
        "EOFError",
        "TOMLDecodeError",
    }
)


def _cache_read_as_miss(ctx: ModuleContext, call: ast.AST, path: ast.expr) -> bool:
    """True when the file rewritten is a cache (its path, the writing function or its
    class says so, or the writing function fetched what it writes over HTTP) and every
    function of the class (or module) that reads it parses what it read in a ``try``
    whose handler swallows a parse error: a torn copy is then a miss that costs a fetch
    again, not a failure. A state file read that way is not a cache: taking it for empty
    loses what it held, so it stays reported."""
    function = ctx.function_of(call)
    cls = ctx.method_class(function) if function is not None else None
    names = [ast.unparse(path), getattr(function, "name", ""), getattr(cls, "name", "")]
    if not any(_CACHE_NAME.search(name) for name in names) and not (
        function is not None and _fetches_from_network(ctx, function)
    ):
        return False
    written = _path_key(ctx, function, path)
    scope: ast.AST = cls if cls is not None else ctx.tree
    readers = [
        reader
        for reader in ast.walk(scope)
        if isinstance(reader, (ast.FunctionDef, ast.AsyncFunctionDef))
        and any(_path_key(ctx, reader, read) == written for read in _read_paths(ctx, reader))
    ]
    return bool(readers) and all(_tolerates_parse_error(ctx, reader) for reader in readers)


_NETWORK_CLIENTS = ("requests.", "httpx.", "urllib.request.", "aiohttp.", "urllib3.")


def _fetches_from_network(ctx: ModuleContext, function: FunctionNode) -> bool:
    """True when ``function`` makes an HTTP request (``requests.get``, ``urlopen``...):
    what it writes was fetched, and can be fetched again."""
    return any(
        isinstance(node, ast.Call)
        and (
            ctx.resolve(call_name(node)).startswith(_NETWORK_CLIENTS)
            or last_name(node) == "urlopen"
        )
        for node in ctx.local(function)
    )


def _path_key(ctx: ModuleContext, function: FunctionNode | None, expr: ast.expr) -> str:
    """A path expression as text, a local bound once replaced by its value."""
    if isinstance(expr, ast.Name) and function is not None:
        value = ctx.assigned_once(function, expr.id)
        if value is not None:
            return ast.dump(value)
    return ast.dump(expr)


def _read_paths(ctx: ModuleContext, function: FunctionNode) -> Iterator[ast.expr]:
    """The path of every file ``function`` opens for reading (``open(p)``,
    ``p.open()``, ``p.read_text()``, ``p.read_bytes()``)."""
    for node in ctx.local(function):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in {"read_text", "read_bytes"}:
            yield node.func.value
            continue
        mode = _open_mode(ctx, node)
        path = _open_path(node)
        if mode is not None and path is not None and not set(mode) & set("wax+"):
            yield path


def _tolerates_parse_error(ctx: ModuleContext, function: FunctionNode) -> bool:
    """True when ``function`` parses (``json.load``, ``yaml.safe_load``, a
    ``_deserialize`` or ``decode`` of its own...) inside a ``try`` with a handler that
    catches a parse error and does not raise again."""
    for node in ctx.local(function):
        if not isinstance(node, ast.Try):
            continue
        parses = any(
            isinstance(n, ast.Call) and _PARSER_NAME.search(last_name(n))
            for statement in node.body
            for n in ast.walk(statement)
        )
        if parses and any(
            _handler_catches(handler, _PARSE_ERRORS)
            and not any(isinstance(n, ast.Raise) for n in ast.walk(handler))
            for handler in node.handlers
        ):
            return True
    return False


def _handler_catches(handler: ast.ExceptHandler, names: frozenset[str]) -> bool:
    """True when ``handler`` catches an exception named in ``names`` (``except X:``,
    ``except (X, Y):``, ``except mod.X:``), or everything (a bare ``except:``)."""
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(last_name(t) in names for t in types)


_PARSER_NAME = re.compile(r"load|deserial|decode|parse|unpickl", re.IGNORECASE)
_MAKE_DIRECTORY = frozenset({"os.makedirs", "os.mkdir"})


def _in_made_directory(ctx: ModuleContext, call: ast.AST, path: ast.expr) -> str:
    """The directory the file is written in when the function made it just before with
    ``os.makedirs(d)``, ``os.mkdir(d)`` or ``d.mkdir()`` without ``exist_ok``: making it
    fails when it exists, so this call is the only one that knows the new file. ``""``
    otherwise."""
    function = ctx.function_of(call)
    if function is None:
        return ""
    inside = {ast.dump(n) for n in ast.walk(path) if n is not path}
    for node in ctx.local(function):
        if not isinstance(node, ast.Call) or node.lineno > getattr(call, "lineno", 0):
            continue
        if any(
            k.arg == "exist_ok" and not (isinstance(k.value, ast.Constant) and not k.value.value)
            for k in node.keywords
        ):
            continue
        made: ast.expr | None = None
        if ctx.resolve(call_name(node)) in _MAKE_DIRECTORY:
            made = node.args[0] if node.args else None
        elif (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "mkdir"
            and len(node.args) < 3  # Path.mkdir(mode, parents, exist_ok)
        ):
            made = node.func.value
        if made is not None and ast.dump(made) in inside and not _made_when_missing(ctx, node):
            return _short(made)
    return ""


_DIRECTORY_TESTS = frozenset({"exists", "isdir", "is_dir", "lexists"})


def _made_when_missing(ctx: ModuleContext, make: ast.Call) -> bool:
    """True when ``make`` runs only after a test that the directory is missing
    (``if not os.path.exists(d): os.makedirs(d)``): when it exists, nothing is made, and
    the file written in it may be one others know."""
    for ancestor in ctx.ancestors(make):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return False
        if isinstance(ancestor, ast.If) and any(
            isinstance(n, ast.Call) and last_name(n) in _DIRECTORY_TESTS
            for n in ast.walk(ancestor.test)
        ):
            return True
    return False


def _negated(test: ast.expr) -> ast.expr | None:
    """What ``test`` says is false: ``x`` of ``not x``, ``x is False`` or ``x == False``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.Eq))
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is False
    ):
        return test.left
    return None


def _same_path(
    ctx: ModuleContext, function: FunctionNode | None, first: ast.expr, second: ast.expr
) -> bool:
    """True when two path expressions name the same file: they are written alike, or one
    is a local the function binds once to the other (``path = config_file()``)."""
    one, other = ast.dump(first), ast.dump(second)
    return (
        one == other
        or _path_key(ctx, function, first) == other
        or _path_key(ctx, function, second) == one
    )


def _imported_names(ctx: ModuleContext) -> set[str]:
    """Names the module binds by importing (``from . import const`` included)."""
    return {
        alias.asname or alias.name.split(".")[0]
        for node in ctx.nodes
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }


def _literal_content(  # noqa: PLR0911, PLR0912 - one return per kind of constant
    ctx: ModuleContext, function: FunctionNode | None, expr: ast.expr, depth: int = 0
) -> bool:
    """Content every process writes alike: a literal, a constant (an upper-case name of
    this module or of a module it imports: ``SETTINGS_HEADER``, ``const.DEFAULTS``), a
    local bound once to one, a loop variable over one, or a ``dumps``, a ``format``, an
    f-string or a concatenation of those."""
    if depth > 4:  # deep enough for any settings template
        return False
    again = functools.partial(_literal_content, ctx, function, depth=depth + 1)
    if isinstance(expr, ast.Call):
        name = last_name(expr)
        if "dump" in name.lower():
            return bool(expr.args) and again(expr.args[0])
        if name in {"format", "join"} and isinstance(expr.func, ast.Attribute):
            parts = [expr.func.value, *expr.args, *(k.value for k in expr.keywords)]
            return all(again(a.value if isinstance(a, ast.Starred) else a) for a in parts)
        if name in {"items", "keys", "values"} and isinstance(expr.func, ast.Attribute):
            return not expr.args and again(expr.func.value)
        return False
    if isinstance(expr, ast.JoinedStr):
        return all(
            again(v.value) if isinstance(v, ast.FormattedValue) else True for v in expr.values
        )
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Mod)):
        return again(expr.left) and again(expr.right)
    if isinstance(expr, ast.Attribute):  # const.DEFAULT_SETTINGS of an imported module
        head = dotted(expr.value)
        return head in _imported_names(ctx) and expr.attr.lstrip("_").isupper()
    if isinstance(expr, ast.Name):
        if _module_constant(ctx, expr.id):
            return True
        if expr.id in _imported_names(ctx) and expr.id.lstrip("_").isupper():
            return True  # from .config import DEFAULT_SETTINGS
        if function is None:
            return False
        value = ctx.assigned_once(function, expr.id)
        if value is not None:
            return _literal_content(ctx, None, value, depth + 1)
        loops = [
            n
            for n in ctx.local(function)
            if isinstance(n, (ast.For, ast.comprehension))
            and any(isinstance(t, ast.Name) and t.id == expr.id for t in ast.walk(n.target))
        ]
        return len(loops) == 1 and again(loops[0].iter)
    try:
        ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False
    return True


_REMOVERS = frozenset({"os.remove", "os.unlink", "os.replace", "os.rename", "shutil.move"})


def _kept_source(ctx: ModuleContext, call: ast.AST, path: ast.expr) -> str:
    """The path of another file that is open for reading around the write and read from
    there (a streamed conversion: an encrypted copy, a decoded one), when the function
    neither removes nor replaces that file: the written file is a product the source can
    make again. ``""`` otherwise."""
    function = ctx.function_of(call)
    if function is None:
        return ""
    written = ast.dump(path)
    for ancestor in ctx.ancestors(call):
        if ancestor is function:
            break
        if not isinstance(ancestor, (ast.With, ast.AsyncWith)):
            continue
        for item in ancestor.items:
            opened = item.context_expr
            if not (isinstance(opened, ast.Call) and isinstance(item.optional_vars, ast.Name)):
                continue
            mode = _open_mode(ctx, opened)
            source = _open_path(opened)
            if mode is None or source is None or set(mode) & set("wax+"):
                continue
            if ast.dump(source) == written or not _reads_from(ancestor, item.optional_vars.id):
                continue
            removed = any(
                isinstance(n, ast.Call)
                and ctx.resolve(call_name(n)) in _REMOVERS
                and any(ast.dump(a) == ast.dump(source) for a in n.args)
                for n in ctx.local(function)
            )
            if not removed:
                return _short(source)
    return ""


def _reads_from(scope: ast.AST, handle: str) -> bool:
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in {"read", "readline", "readlines", "readinto"}
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == handle
        for n in ast.walk(scope)
    )


def _parameter_defaults(function: FunctionNode) -> dict[str, ast.expr | None]:
    """Each named parameter of ``function`` (positional, then keyword-only) with its
    default value, or None when it has none."""
    args = function.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    required = len(positional) - len(args.defaults)
    defaults: dict[str, ast.expr | None] = dict.fromkeys(positional[:required])
    defaults.update(zip(positional[required:], args.defaults, strict=True))
    defaults.update(zip([a.arg for a in args.kwonlyargs], args.kw_defaults, strict=True))
    return defaults


def _from_parameter(ctx: ModuleContext, call: ast.AST, path: ast.expr) -> bool:
    """True when the path written comes from a parameter of the enclosing function
    (directly, or through locals computed from one): the caller's choice of file."""
    function = ctx.function_of(call)
    if function is None:
        return False
    params = {
        name
        for name, default in _parameter_defaults(function).items()
        if default is None or is_none(default)  # a default path is this code's own file
    } - {"self", "cls"}
    derived = set(params)
    for node in sorted(
        (n for n in ctx.local(function) if isinstance(n, (ast.Assign, ast.AnnAssign))),
        key=lambda n: n.lineno,
    ):
        if node.value is None:
            continue
        targets = assigned_targets(node)
        bound = {t.id for t in targets if isinstance(t, ast.Name)}
        if _own_place(ctx, node.value):
            derived -= bound  # the caller names a file in this code's own directory
        elif any(isinstance(n, ast.Name) and n.id in derived for n in ast.walk(node.value)):
            derived.update(bound)
    if _own_place(ctx, path):
        return False
    names = [n.id for n in ast.walk(path) if isinstance(n, ast.Name)]
    return bool(names) and all(n in derived for n in names if n not in ctx.aliases)


_LOADER = re.compile(r"^_?(load|read|reload)", re.IGNORECASE)


def _loads_back(ctx: ModuleContext, call: ast.AST) -> bool:
    """True when the class that writes a file the caller names also has a loader for
    such files: a method named ``load``/``read``... that takes a path (``load(filename)``
    beside ``save(filename)``). What it writes is then a store it reads back (a hosts
    file, a database), not an export: a torn write loses the store. A writer named as an
    export (``export_config``) is an export whatever else the class reads."""
    function = ctx.function_of(call)
    cls = ctx.method_class(function) if function is not None else None
    if cls is None or function is None or "export" in function.name.lower():
        return False
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) or method is function:
            continue
        params = {a.arg for a in (*method.args.posonlyargs, *method.args.args)} - {"self", "cls"}
        if _LOADER.match(method.name) and any(_PATH_PARAM.search(p) for p in params):
            return True
    return False


_PATH_PARAM = re.compile(r"file|path|name$", re.IGNORECASE)


def _own_place(ctx: ModuleContext, expr: ast.AST) -> bool:
    """True when a path is built on a directory this code keeps (``self.data_folder /
    name``, a module-level folder, or what a function of the module that names such a
    place returns, ``get_cache_file_path(command)``): the caller only names an entry in
    it, and the others who read that directory share what is written there."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Attribute) and dotted(node.value) in {"self", "cls"}:
            return True
        if (
            isinstance(node, ast.Name)
            and node.id in ctx.module_names
            and node.id not in ctx.aliases
            and node.id not in _function_names(ctx)
        ):
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and _names_a_home_place(ctx, node.func.id)
        ):
            return True
    return False


_HOME_PLACES = frozenset(
    {"home", "expanduser", "getenv", "user_cache_dir", "user_data_dir", "user_config_dir",
     "user_state_dir", "user_log_dir", "user_cache_path", "user_data_path",
     "user_config_path", "user_state_path"}
)  # fmt: skip


def _names_a_home_place(ctx: ModuleContext, name: str, depth: int = 0) -> bool:
    """True when ``name`` is a function of the module one of whose returns builds on the
    user's home, the environment, a per-user directory (``platformdirs``) or another such
    function: it names a place every process of the user shares."""
    function = _module_function(ctx, name)
    if function is None or depth > 2:
        return False
    returns = [r.value for r in ctx.local(function) if isinstance(r, ast.Return) and r.value]
    return any(
        any(
            (isinstance(n, ast.Call) and last_name(n) in _HOME_PLACES)
            or (isinstance(n, ast.Attribute) and dotted(n) == "os.environ")
            or (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id != name
                and _names_a_home_place(ctx, n.func.id, depth + 1)
            )
            for n in ast.walk(value)
        )
        for value in returns
    )


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _per_instance_locks(ctx: ModuleContext, cls: ast.ClassDef) -> Iterator[Hit]:  # noqa: PLR0912
    instance_locks: set[str] = set()
    shared_attrs = {
        t.id
        for stmt in cls.body
        if isinstance(stmt, (ast.Assign, ast.AnnAssign))
        for t in assigned_targets(stmt)
        if isinstance(t, ast.Name)
    }
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            factory = ctx.resolve(call_name(node.value)).rsplit(".", 1)[-1]
            for target in node.targets:
                text = dotted(target)
                if not text.startswith("self."):
                    continue
                if factory in {"Lock", "RLock"}:
                    instance_locks.add(text)
    instance_locks -= _file_locks(ctx, cls)  # ``threading.Lock() if ... else FileLock(...)``
    if not instance_locks:
        return
    # Attributes set from a module constant or a class constant are shared too.
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if dotted(target).startswith("self.") and _is_shared_path(
                    ctx, cls, node.value, shared_attrs, set()
                ):
                    shared_attrs.add(last_name(target))
    for node in ast.walk(cls):
        if not isinstance(node, (ast.With, ast.AsyncWith)):
            continue
        held = [dotted(i.context_expr) for i in node.items]
        lock = next((h for h in held if h in instance_locks), None)
        if lock is None or _also_locked_elsewhere(ctx, node, instance_locks):
            continue
        hit = _instance_lock_hit(ctx, cls, node, lock, shared_attrs)
        if hit is not None:
            yield hit


def _file_locks(ctx: ModuleContext, cls: ast.ClassDef | None) -> set[str]:
    """``self.x`` attributes assigned a cross-process file lock somewhere in ``cls``."""
    found: set[str] = set()
    if cls is None:
        return found
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            resolved = ctx.resolve(call_name(node.value))
            if "FileLock" in resolved or resolved.startswith(("portalocker.", "fasteners.")):
                found.update(dotted(t) for t in node.targets if dotted(t).startswith("self."))
    return found


def _under_file_lock(ctx: ModuleContext, node: ast.AST) -> bool:
    """True when ``node`` runs inside ``with self.x:`` where ``self.x`` can be a
    cross-process file lock."""
    locks = _file_locks(ctx, ctx.class_of(node))
    return bool(locks) and any(
        isinstance(a, (ast.With, ast.AsyncWith))
        and any(dotted(i.context_expr) in locks for i in a.items)
        for a in ctx.ancestors(node)
    )


def _also_locked_elsewhere(ctx: ModuleContext, block: ast.AST, instance_locks: set[str]) -> bool:
    """True when a lock that is not per instance (module-level, per path, cross-process)
    is held around or inside ``block``."""
    nested = [n for n in ast.walk(block) if isinstance(n, (ast.With, ast.AsyncWith))]
    around = [a for a in ctx.ancestors(block) if isinstance(a, (ast.With, ast.AsyncWith))]
    for with_node in (*nested, *around):
        for item in with_node.items:
            expr = item.context_expr
            if dotted(expr) not in instance_locks and ctx.is_lockish(expr):
                return True
    return False


def _instance_lock_hit(
    ctx: ModuleContext,
    cls: ast.ClassDef,
    block: ast.With | ast.AsyncWith,
    lock: str,
    shared_attrs: set[str],
) -> Hit | None:
    for child in block.body:
        for path, appends in _paths_written(ctx, child):
            shared = _is_shared_path(ctx, cls, path, shared_attrs, set())
            if appends and not shared:
                continue
            if _one_instance(ctx, cls):
                return (
                    block,
                    "file-per-instance-lock",
                    f"'{lock}' is per instance, but '{cls.name}' has one instance per "
                    "process (only its singleton makes one): every thread takes this lock, "
                    f"and only another process writing '{_short(path)}' does not",
                    INFO,
                )
            if shared:
                return (
                    block,
                    "file-per-instance-lock",
                    f"'{lock}' is per instance but '{_short(path)}' is shared by every instance",
                )
            return (
                block,
                "file-per-instance-lock",
                f"'{lock}' is per instance; other instances and processes writing "
                f"'{_short(path)}' do not take it",
            )
    return None


def _one_instance(ctx: ModuleContext, cls: ast.ClassDef) -> bool:
    """True when ``cls`` is a singleton's product, made under a lock (or at import), and
    that is the only call in the run that makes one: a lock made per instance is then
    made once per process. A singleton made without a lock can make two."""
    if ctx.project is None or cls.name not in ctx.singleton_products():
        return False
    if not ctx.project.made_once(cls.name):
        return False
    made = [
        node for node in ctx.nodes if isinstance(node, ast.Call) and last_name(node) == cls.name
    ]
    return bool(made) and all(
        ctx.function_of(node) is None or ctx.under_lock(node) for node in made
    )


def _paths_written(ctx: ModuleContext, stmt: ast.AST) -> Iterator[tuple[ast.expr, bool]]:
    """``(path, appends)`` for every file written in ``stmt``."""
    for node in ast.walk(stmt):
        if not isinstance(node, ast.Call):
            continue
        mode = _open_mode(ctx, node)
        if mode is not None and ("w" in mode or "a" in mode):
            path = _open_path(node)
            if path is not None:
                yield path, "a" in mode
        elif isinstance(node.func, ast.Attribute) and node.func.attr in {
            "write_text",
            "write_bytes",
        }:
            yield node.func.value, False
        elif "atomic" in call_name(node).lower() and node.args:
            yield node.args[0], False
        elif ctx.resolve(call_name(node)) in {"os.replace", "os.rename"} and len(node.args) == 2:
            yield node.args[1], False


def _is_shared_path(
    ctx: ModuleContext,
    cls: ast.ClassDef,
    expr: ast.expr,
    shared_attrs: set[str],
    _seen: set[str],
) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and node.id in ctx.module_names and node.id.isupper():
            return True
        if isinstance(node, ast.Attribute):
            base = dotted(node.value)
            if base in {"self", "cls", cls.name} and node.attr in shared_attrs:
                return True
        if isinstance(node, ast.Call) and ctx.resolve(call_name(node)) in {
            "pathlib.Path.home",
            "Path.home",
            "os.path.expanduser",
        }:
            return True
    return False


# --------------------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------------------


def check_shared_state(ctx: ModuleContext) -> Iterator[Hit]:  # noqa: PLR0912
    """``shared-rmw`` and ``shared-iterator``."""
    for function in _functions(ctx):
        if function.name in _NOT_SHARED_METHODS:
            continue
        declared_global = {
            name
            for node in ctx.local(function)
            if isinstance(node, ast.Global)
            for name in node.names
        }
        for node in ctx.local(function):
            target = _rmw_target(node)
            if target is None:
                continue
            shared = _shared_target(ctx, target, declared_global)
            if shared is None or not ctx.threaded(node) or ctx.under_lock(node):
                continue
            if _is_property(ctx, target):
                continue  # a property decides where the value lives (often thread-local)
            worker = _sole_writer_thread(ctx, node, target)
            if worker:
                yield (
                    node,
                    "shared-rmw",
                    f"'{shared}' is read, changed and written back without a lock, but only "
                    f"by '{worker}' (or what it calls), which runs on the one thread the "
                    "object starts for it: one writer",
                    INFO,
                )
                continue
            if _rmw_evidence(ctx, node, shared):
                yield (
                    node,
                    "shared-rmw",
                    f"'{shared}' is read, changed and written back without a lock",
                )
            else:
                yield (
                    node,
                    "shared-rmw",
                    f"'{shared}' is read, changed and written back without a lock; nothing "
                    "shows that several threads update it (no lock guards it elsewhere, and "
                    "no thread or pool runs the code that changes it)",
                    INFO,
                )
    for function in _functions(ctx):
        if function.name not in _NOT_SHARED_METHODS and ctx.threaded(function):
            yield from _split_read_modify_write(ctx, function)
            yield from _split_lock_check_then_act(ctx, function)
    yield from _shared_iterators(ctx)
    for cls in ctx.classes:
        yield from _unlocked_resets(ctx, cls)
    for function in _functions(ctx):
        yield from _closure_rmw(ctx, function)
        yield from _stream_swaps(ctx, function)


_PROCESS_STREAMS = frozenset({"sys.stdout", "sys.stderr", "sys.stdin"})


def _stream_swaps(ctx: ModuleContext, function: FunctionNode) -> Iterator[Hit]:
    """``shared-rmw`` on a process-wide stream swapped and restored: ``old = sys.stdout``,
    ``sys.stdout = capture``, ..., ``sys.stdout = old`` (or ``with redirect_stdout(...)``,
    which does the same). Every thread sees the swap; two threads doing it at once
    interleave their saves and restores, and ``sys.stdout`` is left pointing at a finished
    capture. The Python documentation says as much of ``contextlib.redirect_stdout``."""
    saved: dict[str, str] = {}
    in_order = sorted(
        ctx.local(function), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))
    )
    for node in in_order:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            value = ctx.resolve(dotted(node.value))
            if isinstance(target, ast.Name) and value in _PROCESS_STREAMS:
                saved[value] = target.id  # old = sys.stdout
                continue
            stream = ctx.resolve(dotted(target))
            if stream not in _PROCESS_STREAMS or stream not in saved:
                continue
            if ctx.under_lock(node):
                continue
            yield _stream_hit(ctx, node, f"'{stream}' is swapped and then restored")
            return
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                name = ctx.resolve(call_name(item.context_expr))
                if name.rsplit(".", 1)[-1] in {"redirect_stdout", "redirect_stderr"}:
                    if ctx.under_lock(node):
                        continue
                    yield _stream_hit(ctx, item.context_expr, f"'{name}()' swaps a stream")
                    return


def _stream_hit(ctx: ModuleContext, node: ast.AST, what: str) -> Hit:
    message = (
        f"{what} for the whole process, without a lock: two threads doing it at once "
        "restore each other's stream"
    )
    if ctx.starts_threads() and not _is_test_code(ctx, node):
        return (node, "shared-rmw", message)
    return (node, "shared-rmw", f"{message} (nothing here starts threads)", INFO)


_THREAD_STARTERS = frozenset({"Thread", "Timer"})
_POOL_STARTERS = frozenset(
    {"submit", "map", "imap", "imap_unordered", "starmap", "apply_async", "map_async"}
)


def _closure_threads(ctx: ModuleContext, function: FunctionNode) -> dict[str, int]:
    """Functions defined inside ``function`` that it runs on other threads -> how many
    runs: 1 for one ``Thread(target=f)``, 2 (many) for a thread started in a loop or a
    function handed to a pool (``submit`` in a loop, ``map``)."""
    nested = {n.name for n in _nested_functions(ctx, function)}
    runs: dict[str, int] = {}
    for call in ctx.local(function):
        if not isinstance(call, ast.Call):
            continue
        name = last_name(call)
        started: ast.expr | None = None
        if name in _THREAD_STARTERS:
            started = next((kw.value for kw in call.keywords if kw.arg == "target"), None)
            if started is None and name == "Timer" and len(call.args) >= 2:
                started = call.args[1]
        elif name in _POOL_STARTERS and call.args and isinstance(call.func, ast.Attribute):
            started = call.args[0]
        if not (isinstance(started, ast.Name) and started.id in nested):
            continue
        many = name in _POOL_STARTERS - {"submit", "apply_async"} or ctx.in_loop(call)
        runs[started.id] = runs.get(started.id, 0) + (2 if many else 1)
    return runs


def _nested_functions(ctx: ModuleContext, function: FunctionNode) -> list[FunctionNode]:
    """The functions defined directly inside ``function`` (not inside those)."""
    return [
        n
        for n in ast.walk(function)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        and n is not function
        and ctx.function_of(n) is function
    ]


def _closure_rmw(ctx: ModuleContext, function: FunctionNode) -> Iterator[Hit]:
    """``shared-rmw`` on a local of ``function`` that the functions it runs on threads
    change in place: ``in_flight["threads"] += 1`` in a producer thread and ``-= 1`` in a
    consumer thread, or ``counts[k] += 1`` in a function handed to a pool. The local is
    shared by every thread that closes over it, exactly as a global would be."""
    runs = _closure_threads(ctx, function)
    if not runs:
        return
    owned = {a.arg for a in (*function.args.posonlyargs, *function.args.args)}
    owned |= {a.arg for a in function.args.kwonlyargs}
    for node in ctx.local(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            owned.add(node.id)
    owned -= {"self", "cls"}
    writers: dict[str, list[tuple[ast.AST, str]]] = {}
    for inner in _nested_functions(ctx, function):
        if inner.name not in runs:
            continue
        rebound = {
            n.id
            for n in ctx.local(inner)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        } - {name for n in ctx.local(inner) if isinstance(n, ast.Nonlocal) for name in n.names}
        for node in ctx.local(inner):
            target = _rmw_target(node)
            if target is None or ctx.under_lock(node):
                continue
            base: ast.expr = target
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if not isinstance(base, ast.Name) or base.id not in owned or base.id in rebound:
                continue
            writers.setdefault(ast.unparse(target), []).append((node, inner.name))
    for text, sites in writers.items():
        names = sorted({name for _, name in sites})
        if sum(runs[name] for name in names) < 2:  # two runs make a race
            continue
        first = min((node for node, _ in sites), key=lambda n: getattr(n, "lineno", 0))
        who = (
            f"'{names[0]}' and '{names[1]}'"
            if len(names) > 1
            else f"'{names[0]}' (run on several threads)"
        )
        yield (
            first,
            "shared-rmw",
            f"'{text}' (a local of '{function.name}' that {who} close over) is read, changed "
            "and written back without a lock",
        )


_THREAD_OWNER_STARTERS = frozenset({"__init__", "__enter__", "__aenter__", "start"})
"""Methods that run once per object in its life (``start`` by convention): the thread one
of them starts is the object's one worker."""


def _sole_writer_thread(  # noqa: PLR0911 - one return per missing piece of evidence
    ctx: ModuleContext, node: ast.AST, target: ast.expr
) -> str:
    """The thread's target when the read-modify-write of ``self.attr`` runs only on the
    instance's own worker thread: one ``Thread(target=self.m)`` started (not in a loop) by
    ``__init__``, ``__enter__`` or ``start``; the method doing the update is ``m`` or one
    ``m`` reaches through ``self``; no other code of the class calls those, except the
    starting method before it starts the thread (a first frame drawn up front); and no
    other method changes the attribute except to store a constant (a reset after
    ``join()``). ``""`` otherwise."""
    if not (isinstance(target, ast.Attribute) and dotted(target.value) == "self"):
        return ""
    function = ctx.function_of(node)
    cls = ctx.class_of(node)
    if function is None or cls is None or ctx.method_class(function) is not cls:
        return ""
    methods = _methods_of(cls)
    starts = [
        (n, kw.value.attr)
        for n in ast.walk(cls)
        if isinstance(n, ast.Call) and last_name(n) in {"Thread", "Timer"}
        for kw in n.keywords
        if kw.arg == "target"
        and isinstance(kw.value, ast.Attribute)
        and dotted(kw.value.value) == "self"
        and kw.value.attr in methods
    ]
    if len(starts) != 1:
        return ""
    start, entry = starts[0]
    starter = ctx.function_of(start)
    if starter is None or starter.name not in _THREAD_OWNER_STARTERS or ctx.in_loop(start):
        return ""
    calls = {
        name: {
            n.func.attr
            for n in ast.walk(method)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and dotted(n.func.value) == "self"
            and n.func.attr in methods
        }
        for name, method in methods.items()
    }
    reached = _reachable(calls, entry)  # what the thread runs, through self.x() calls
    if function.name not in reached:
        return ""
    # The methods on the way to the update: a call of one from elsewhere runs it on
    # another thread (a helper the thread also uses, such as clear(), does not count).
    leads = {m for m in reached if function.name in _reachable(calls, m)}
    for n in ast.walk(cls):
        caller = ctx.function_of(n)
        if not (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and dotted(n.func.value) == "self"
            and n.func.attr in leads
            and caller is not None
            and caller.name not in reached
        ):
            continue
        if caller is starter and n.lineno < start.lineno:
            continue  # called before the thread exists
        return ""
    return entry if _others_store_constants(ctx, cls, dotted(target), reached) else ""


def _others_store_constants(
    ctx: ModuleContext, cls: ast.ClassDef, wanted: str, owners: set[str]
) -> bool:
    """True when no method of ``cls`` outside ``owners`` changes ``wanted`` except to store
    a constant (a reset)."""
    for other in ast.walk(cls):
        owner = ctx.function_of(other)
        if owner is not None and owner.name in owners:
            continue
        if isinstance(other, ast.AugAssign) and dotted(other.target) == wanted:
            return False  # another method changes it too
        if isinstance(other, (ast.Assign, ast.AnnAssign)) and other.value is not None:
            targets = assigned_targets(other)
            if any(dotted(t) == wanted for t in targets) and not isinstance(
                other.value, ast.Constant
            ):
                return False  # a computed store elsewhere (a split read-modify-write)
    return True


def _methods_of(cls: ast.ClassDef) -> dict[str, FunctionNode]:
    """The methods defined in ``cls``'s body, by name (the last definition of a name)."""
    return {m.name: m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _reachable(calls: dict[str, set[str]], start: str) -> set[str]:
    """``start`` and every name reachable from it in the call graph ``calls``."""
    seen = {start}
    pending = [start]
    while pending:
        for callee in calls.get(pending.pop(), set()) - seen:
            seen.add(callee)
            pending.append(callee)
    return seen


def _asks_thread_identity(ctx: ModuleContext, function: ast.AST | None) -> bool:
    """True when ``function`` keys a record by the thread it runs on
    (``records[threading.get_ident()]``, ``records.pop(current_thread())``, or a module
    function that returns one): code that keeps records per thread is written to run on
    several threads at once (a server's per-request statistics keyed by thread id). Only
    logging the thread's name is no such evidence."""
    if function is None:
        return False
    known = ctx.class_facts.get(("thread-identity", function))
    if known is not None:
        return bool(known)
    ctx.class_facts[("thread-identity", function)] = set()
    helpers = {
        f.name
        for f in ctx.tree.body
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
        and f is not function
        and any(
            isinstance(n, ast.Call) and ctx.resolve(call_name(n)) in THREAD_IDENTITY
            for n in ast.walk(f)
        )
    }

    def identity(n: ast.AST) -> bool:
        return isinstance(n, ast.Call) and (
            ctx.resolve(call_name(n)) in THREAD_IDENTITY or call_name(n) in helpers
        )

    # Used as a key (records[ident], records.pop(ident)), not only logged or named.
    found = any(
        (isinstance(n, ast.Subscript) and identity(n.slice))
        or (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in {"get", "pop", "setdefault", "__getitem__", "__setitem__"}
            and any(identity(a) for a in n.args[:1])
        )
        for n in ast.walk(function)
    )
    ctx.class_facts[("thread-identity", function)] = {"yes"} if found else set()
    return found


def _rmw_evidence(ctx: ModuleContext, node: ast.AST, shared: str) -> bool:  # noqa: PLR0911
    """Evidence that several threads run this read-modify-write: the instance's class owns
    a lock (``self.``/``cls.`` state), or the module starts threads or has a module lock
    (globals), or the function keeps records per thread."""
    if _asks_thread_identity(ctx, ctx.function_of(node)):
        return True  # it looks up which thread runs it: written for several at once
    cls = ctx.class_of(node)
    owners = {"self", "cls"} | ({cls.name} if cls is not None else set())
    if shared.split(".", maxsplit=1)[0] in owners:
        if cls is None:
            return False
        if cls.name in ctx.singleton_products():
            return True  # every caller, on every thread, reaches every method
        if _reached_from_thread_entry(ctx, cls, node, ctx.pool_entries()):
            return True  # several threads run this very code at once
        root = _attribute_root(node.target) if isinstance(node, ast.AugAssign) else ""
        if root and root in _pool_updated(ctx, cls):
            return True  # code several threads run changes the same attribute
        if ctx.class_has_lock(cls):
            # A lock in the class shows threads, but only for the state it guards:
            # counters its author updates under the lock elsewhere. An attribute never
            # updated under it belongs to one thread (a network loop's buffer, a re-entry
            # count of the owner), even when one of the methods runs on a thread of its own
            # (one thread: the lock's author decides what it shares with the callers).
            root = "self." + shared.split(".", 1)[1].split("[", 1)[0] if "." in shared else ""
            names = [cls.name, *(last_name(b) for b in cls.bases)]
            guarded = ctx.project.guarded(names) if ctx.project is not None else set()
            return root in guarded
        # No lock: a method handed to a thread or a pool shows threads only in the code it
        # runs. A method the thread never reaches runs on its callers' thread alone (the
        # server's stop() while serve() loops on its own thread), but when the thread's
        # code changes the same attribute, the callers' update races with it.
        if _reached_from_thread_entry(ctx, cls, node, ctx.thread_entries()):
            return True
        if _says_threads_share_it(cls):
            return True  # its author says several threads use the object
        return bool(root) and root in _thread_mutated(ctx, cls)
    return ctx.starts_threads()


_SHARED_SAYING = re.compile(
    r"\b(?:other|several|multiple|many|concurrent)\s+(?:threads|request\s+threads)\b", re.I
)
_NOT_SHARED_SAYING = re.compile(
    r"not\s+thread[- ]?safe|single\s+thread|one\s+thread|same\s+thread|not\s+shared"
    r"|thread[- ]local|local\s+to\s+the\s+thread|per[- ]thread|own\s+view",
    re.I,
)


def _says_threads_share_it(cls: ast.ClassDef) -> bool:
    """True when the class's own docstrings (the class's, its methods', an attribute's)
    say that other threads use the object ("wait for other threads to release it"), and
    none says it belongs to one thread or keeps its state per thread ("not thread-safe",
    "one thread", "local to the thread running the call")."""
    texts = [
        n.value.value
        for n in ast.walk(cls)
        if isinstance(n, ast.Expr)
        and isinstance(n.value, ast.Constant)
        and isinstance(n.value.value, str)
    ]
    said = " ".join(t for t in texts if isinstance(t, str))
    return bool(_SHARED_SAYING.search(said)) and not _NOT_SHARED_SAYING.search(said)


_MUTATORS = frozenset(
    {"pop", "popitem", "clear", "remove", "append", "extend", "insert", "update", "add"}
)


def _thread_mutated(ctx: ModuleContext, cls: ast.ClassDef) -> set[str]:
    """``self.x`` attributes that the code of ``cls`` handed to a thread (or reached from
    it through ``self``) changes: assigns, updates in place, or empties or fills with a
    container method (``self.x.pop(k)``). A read-modify-write of one of them elsewhere,
    on the callers' thread, races with that thread (an expiry timer popping the counters
    that request threads increment)."""
    known = ctx.class_facts.get(("thread-mutated", cls))
    if known is not None:
        return known
    found: set[str] = ctx.class_facts.setdefault(("thread-mutated", cls), set())
    entries = ctx.thread_entries()
    methods = [m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not any(m.name in entries for m in methods):
        return found
    for method in methods:
        if method.name in _NOT_SHARED_METHODS:
            continue
        changed: list[ast.expr] = []
        for node in ctx.local(method):
            if isinstance(node, ast.AugAssign):
                changed.append(node.target)
            elif isinstance(node, (ast.Assign, ast.Delete)):
                changed.extend(node.targets)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
            ):
                changed.append(node.func.value)
        roots = {_attribute_root(t) for t in changed} - {""}
        if roots and _reached_from_thread_entry(ctx, cls, method.body[0], entries):
            found |= roots
    return found


def _pool_updated(ctx: ModuleContext, cls: ast.ClassDef) -> set[str]:
    """``self.x`` attributes read-modify-written without a lock in the methods of ``cls``
    that a pool runs (or that they reach): any other unlocked update of the same attribute
    races with them, whichever thread it runs on."""
    known = ctx.class_facts.get(("pool-updated", cls))
    if known is not None:
        return known
    methods = [m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    entries = ctx.pool_entries()
    found: set[str] = ctx.class_facts.setdefault(("pool-updated", cls), set())
    for method in methods:
        for node in ctx.local(method):
            if (
                isinstance(node, ast.AugAssign)
                and not ctx.under_lock(node)
                and _reached_from_thread_entry(ctx, cls, node, entries)
            ):
                root = _attribute_root(node.target)
                if root:
                    found.add(root)
    return found


def _reached_from_thread_entry(
    ctx: ModuleContext, cls: ast.ClassDef, node: ast.AST, entries: set[str]
) -> bool:
    """True when ``node``'s method is one of ``entries`` (methods of ``cls`` handed to a
    thread or a pool), or one of them reaches it through ``self``: calls, and properties
    read (the getter) or assigned (the setter)."""
    methods = [m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    function = ctx.function_of(node)
    while function is not None and function not in methods:
        function = ctx.function_of(function)
    if function is None:
        return False
    pending = [m for m in methods if m.name in entries]
    reached: set[ast.AST] = set()
    while pending:
        method = pending.pop()
        if method in reached:
            continue
        reached.add(method)
        for n in ast.walk(method):
            if not (isinstance(n, ast.Attribute) and dotted(n.value) in {"self", "cls"}):
                continue
            setter = isinstance(n.ctx, ast.Store)
            pending.extend(
                m
                for m in methods
                if m.name == n.attr and _is_setter(m) == setter and m not in reached
            )
    return function in reached


def _is_setter(method: FunctionNode) -> bool:
    return any(dotted(d).endswith((".setter", ".deleter")) for d in method.decorator_list)


def _attribute_root(target: ast.expr) -> str:
    """``self.x`` for ``self.x``, ``self.x[k]`` and ``self.x[k][j]``; ``""`` otherwise."""
    while isinstance(target, ast.Subscript):
        target = target.value
    if isinstance(target, ast.Attribute) and dotted(target.value) == "self":
        return f"self.{target.attr}"
    return ""


def _locked_updates(ctx: ModuleContext, cls: ast.ClassDef) -> dict[str, str]:
    """Attributes read-modify-written under a lock somewhere in ``cls``: ``self.x`` ->
    the method that does it (``stats = self.d[k]; stats["n"] += 1`` counts for ``self.d``)."""
    found: dict[str, str] = {}
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        aliases: dict[str, str] = {}
        for node in ctx.local(method):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                alias = node.targets[0]
                root = (
                    _attribute_root(node.value)
                    if isinstance(node.value, (ast.Attribute, ast.Subscript))
                    else ""
                )
                if isinstance(alias, ast.Name) and root:
                    aliases[alias.id] = root
        for node in ctx.local(method):
            target = _rmw_target(node)
            if target is None or not ctx.under_lock(node):
                continue
            root = _attribute_root(target)
            if not root and isinstance(target, ast.Subscript):
                base: ast.expr = target
                while isinstance(base, ast.Subscript):
                    base = base.value
                if isinstance(base, ast.Name):
                    root = aliases.get(base.id, "")
            if root:
                found.setdefault(root, method.name)
    return found


def _unlocked_resets(ctx: ModuleContext, cls: ast.ClassDef) -> Iterator[Hit]:
    """``shared-reset-unlocked``: a method assigns an attribute outright, without the lock
    another method holds to read-modify-write it. The increment in flight is lost or lands
    on the old object after the reset (upstream's ``reset_stats``)."""
    updated = _locked_updates(ctx, cls)
    if not updated:
        return
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if method.name in _NOT_SHARED_METHODS or _SETUP_METHOD.search(method.name):
            continue
        claimed = _claim_line(ctx, method)
        resets: list[tuple[ast.stmt, str]] = []
        for node in ctx.local(method):
            if not isinstance(node, (ast.Assign, ast.AnnAssign)):
                continue
            if claimed and node.lineno > claimed:
                continue  # after the method claimed the object for itself, under the lock
            targets = assigned_targets(node)
            for target in targets:
                root = _attribute_root(target)
                if root in updated and not ctx.under_lock(node):
                    resets.append((node, root))
        if resets:
            resets.sort(key=lambda r: (r[0].lineno, r[0].col_offset))
            names = ", ".join(dict.fromkeys(r for _, r in resets))
            first = min((n for n, _ in resets), key=lambda n: (n.lineno, n.col_offset))
            yield (
                first,
                "shared-reset-unlocked",
                f"'{method.name}' assigns {names} without the lock that "
                f"'{updated[resets[0][1]]}' holds to update it",
            )


def _claim_line(ctx: ModuleContext, method: FunctionNode) -> int:
    """The last line of a lock block at the top level of ``method`` that refuses a
    second user and claims the object (``with lock: if self.running: raise ...;
    self.running = True``), or 0. What the method resets after it, no other thread
    updates: the claim keeps them out until the method is done."""
    for stmt in method.body:
        if not (
            isinstance(stmt, (ast.With, ast.AsyncWith))
            and any(ctx.is_lockish(i.context_expr) for i in stmt.items)
        ):
            continue
        refusals = {
            dotted(test)
            for n in stmt.body
            if isinstance(n, ast.If) and n.body and isinstance(n.body[-1], (ast.Raise, ast.Return))
            for test in [n.test]
        }
        claims = {
            dotted(target)
            for n in stmt.body
            if isinstance(n, ast.Assign)
            and isinstance(n.value, ast.Constant)
            and n.value.value is True
            for target in n.targets
        }
        if refusals & claims - {""}:
            return stmt.end_lineno or stmt.lineno
    return 0


def _self_reads(node: ast.AST) -> set[str]:
    """``self.x`` attributes read (as values, not called) anywhere in ``node``."""
    found: set[str] = set()
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Attribute)
            and isinstance(child.ctx, ast.Load)
            and isinstance(child.value, ast.Name)
            and child.value.id == "self"
        ):
            found.add(f"self.{child.attr}")
    return found


def _split_read_modify_write(ctx: ModuleContext, function: FunctionNode) -> Iterator[Hit]:
    """``n = self.count`` ... ``self.count = n + 1``: the read-modify-write split over a
    local variable, outside one lock."""
    copies: dict[str, tuple[set[str], ast.AST]] = {}  # local -> (attributes, the read)
    statements = sorted(
        (n for n in ctx.local(function) if isinstance(n, ast.Assign) and len(n.targets) == 1),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for node in statements:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            copies[target.id] = (_self_reads(node.value), node)
            continue
        text = dotted(target)
        if not text.startswith("self.") or _is_property(ctx, target):
            continue
        if isinstance(node.value, ast.Name):
            continue  # ``self.x = saved``: a restore, not a modification
        for local, (attributes, read) in copies.items():
            if text not in attributes or not _mentions(node.value, local):
                continue
            if _same_lock_block(ctx, read, node):
                continue
            if _rmw_evidence(ctx, node, text):
                yield (
                    node,
                    "shared-rmw",
                    f"'{text}' is read into '{local}' and written back later without a lock",
                )
            else:
                yield (
                    node,
                    "shared-rmw",
                    f"'{text}' is read into '{local}' and written back later without a "
                    "lock; its class owns no lock, so nothing shows it is shared",
                    INFO,
                )
            break


def _lock_blocks(ctx: ModuleContext, node: ast.AST) -> list[ast.AST]:
    """The ``with <lock>:`` blocks around ``node`` in its function, innermost first."""
    blocks: list[ast.AST] = []
    child = node
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            break
        if (
            isinstance(ancestor, (ast.With, ast.AsyncWith))
            and child not in ancestor.items
            and any(ctx.is_lockish(i.context_expr) for i in ancestor.items)
        ):
            blocks.append(ancestor)
        child = ancestor
    return blocks


def _same_lock_block(ctx: ModuleContext, first: ast.AST, second: ast.AST) -> bool:
    function = ctx.function_of(first)
    if function is not None and ctx.function_is_locked(function):
        return True
    return bool(set(_lock_blocks(ctx, first)) & set(_lock_blocks(ctx, second)))


def _single_flighted(cls: ast.ClassDef, name: str) -> bool:
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and last_name(node) == "do":
            for inner in ast.walk(node):
                if dotted(inner) == f"self.{name}":
                    return True
    return False


def _split_lock_check_then_act(ctx: ModuleContext, function: FunctionNode) -> Iterator[Hit]:
    """A cache looked up under one lock and filled under another: both threads miss.

    Not reported when the function runs inside a single-flight call (``flight.do(key,
    lambda: self.fill(key))``): then only one caller per key gets there; nor when the
    block that fills the entry checks for it again under its own lock (double-checked):
    a second thread then finds the first one's entry and keeps it."""
    cls = ctx.method_class(function)
    reads: list[tuple[str, str, ast.AST]] = []  # (container, key, node)
    for node in ctx.local(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
        ):
            reads.append((dotted(node.func.value), ast.unparse(node.args[0]), node))
        elif (
            isinstance(node, ast.Compare)
            and len(node.comparators) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
        ):
            reads.append((dotted(node.comparators[0]), ast.unparse(node.left), node))
    for node in ctx.local(function):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if not isinstance(target, ast.Subscript):
                continue
            container = dotted(target.value)
            key = ast.unparse(target.slice)
            if not container.startswith("self."):
                continue
            write_locks = _lock_blocks(ctx, node)
            same = [r for c, k, r in reads if (c, k) == (container, key)]
            if any(set(_lock_blocks(ctx, read)) & set(write_locks) for read in same):
                continue  # filled only after a check under the same lock: double-checked
            for read in same:
                read_locks = _lock_blocks(ctx, read)
                if read_locks and write_locks and not set(read_locks) & set(write_locks):
                    if cls is not None and _single_flighted(cls, function.name):
                        return
                    yield (
                        node,
                        "split-lock-check-then-act",
                        f"'{container}[{key}]' is checked under one lock and filled under "
                        "another: concurrent misses all compute and overwrite",
                    )
                    return


def _is_property(ctx: ModuleContext, target: ast.expr) -> bool:
    if not (isinstance(target, ast.Attribute) and dotted(target.value) == "self"):
        return False
    cls = ctx.class_of(target)
    if cls is None:
        return False
    return any(
        isinstance(m, ast.FunctionDef)
        and m.name == target.attr
        and any("property" in dotted(d) or dotted(d).endswith(".setter") for d in m.decorator_list)
        for m in cls.body
    )


def _rmw_target(node: ast.AST) -> ast.expr | None:
    """What ``node`` reads, changes and writes back: the target of ``x += 1`` or of
    ``x = x + 1`` (``d[k] = d.get(k, 0) + 1``); None for anything else."""
    if isinstance(node, ast.AugAssign):
        return node.target
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.value, ast.BinOp)
        and _reads_target(node.targets[0], node.value)
    ):
        return node.targets[0]
    return None


def _reads_target(target: ast.expr, value: ast.expr) -> bool:
    """True when ``value`` reads the very expression ``target`` assigns (``x = x + 1``)."""
    if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
        return False
    text = ast.unparse(target)
    for node in ast.walk(value):
        if type(node) is type(target) and ast.unparse(node) == text:
            return True
        if (  # d[k] = d.get(k, 0) + 1
            isinstance(target, ast.Subscript)
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and ast.unparse(node.func.value) == ast.unparse(target.value)
            and ast.unparse(node.args[0]) == ast.unparse(target.slice)
        ):
            return True
    return False


def _shared_target(ctx: ModuleContext, target: ast.expr, declared_global: set[str]) -> str | None:
    if ctx.is_thread_local(target):
        return None
    text = ast.unparse(target)
    base = target
    while isinstance(base, (ast.Subscript, ast.Attribute)):
        inner = base.value
        if isinstance(inner, ast.Name) and isinstance(base, ast.Attribute):
            if inner.id in {"self", "cls"}:
                return text
            cls = ctx.class_of(target)
            if cls is not None and inner.id == cls.name:
                return text
        base = inner
    if isinstance(base, ast.Name):
        if isinstance(target, ast.Name) and target.id in declared_global:
            return text
        if (
            isinstance(target, ast.Subscript)
            and base.id in ctx.module_names
            and base is target.value
        ):
            return text
    return None


def _thread_targets(ctx: ModuleContext, cls: ast.ClassDef) -> set[str]:
    targets: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and last_name(node) in {"Thread", "Timer", "submit"}:
            candidates = [kw.value for kw in node.keywords if kw.arg in {"target", "function"}]
            if last_name(node) in {"submit", "Timer"}:
                candidates.extend(node.args[:2])
            for value in candidates:
                text = dotted(value)
                if text.startswith("self."):
                    targets.add(text.split(".", 1)[1])
    return targets


def _shared_iterators(ctx: ModuleContext) -> Iterator[Hit]:  # noqa: PLR0912
    for cls in ctx.nodes:
        if not isinstance(cls, ast.ClassDef):
            continue
        iterators: set[str] = set()
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                name = ctx.resolve(call_name(node.value))
                if name.startswith("itertools.") or name in {"iter", "cycle"}:
                    iterators.update(
                        dotted(t) for t in node.targets if dotted(t).startswith("self.")
                    )
        if not iterators:
            continue
        targets = _thread_targets(ctx, cls)
        methods = _methods_of(cls)
        reached = set(targets)
        for name in list(targets):  # one level of self.helper() calls from the target
            if name in methods:
                for node in ctx.local(methods[name]):
                    callee = dotted(getattr(node, "func", ast.Constant(None)))
                    if isinstance(node, ast.Call) and callee.startswith("self."):
                        reached.add(callee.split(".", 1)[1])
        for name in sorted(reached & methods.keys()):
            for node in ctx.local(methods[name]):
                if (
                    isinstance(node, ast.Call)
                    and call_name(node) == "next"
                    and node.args
                    and dotted(node.args[0]) in iterators
                    and not ctx.under_lock(node)
                ):
                    yield (
                        node,
                        "shared-iterator",
                        f"'{dotted(node.args[0])}' is advanced by a thread and shared with "
                        "other callers",
                    )


# --------------------------------------------------------------------------------------
# Asyncio and fallbacks
# --------------------------------------------------------------------------------------


def _runs_several_loops(ctx: ModuleContext) -> bool:
    """Evidence that more than one event loop runs this module's coroutines: it starts
    loops itself (``asyncio.run``, ``new_event_loop``, ``run_until_complete``)."""
    return any(
        isinstance(node, ast.Call)
        and (
            ctx.resolve(call_name(node)) in {"asyncio.run", "asyncio.new_event_loop"}
            or last_name(node) == "run_until_complete"
        )
        for node in ctx.nodes
    )


def check_asyncio(ctx: ModuleContext) -> Iterator[Hit]:
    """``asyncio-loop-bound``."""
    several = _runs_several_loops(ctx)
    for cls in ctx.nodes:
        if not isinstance(cls, ast.ClassDef):
            continue
        methods = [m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
        used_in_async = {
            dotted(node)
            for m in methods
            if isinstance(m, ast.AsyncFunctionDef)
            for node in ctx.local(m)
            if isinstance(node, ast.Attribute)
        }
        for method in methods:
            if method.name != "__init__":
                continue
            for node in ctx.local(method):
                if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                    continue
                name = ctx.resolve(call_name(node.value))
                module, _, primitive = name.rpartition(".")
                if module != "asyncio" or primitive not in _ASYNC_PRIMITIVES:
                    continue
                for target in node.targets:
                    if dotted(target) not in used_in_async:
                        continue
                    if primitive == "Lock" and _never_waited(ctx, methods, dotted(target)):
                        continue
                    if several:
                        yield (
                            node,
                            "asyncio-loop-bound",
                            f"'{dotted(target)}' (asyncio.{primitive}) is created in __init__ "
                            "and used by coroutines: a second asyncio.run() fails",
                        )
                    else:
                        yield (
                            node,
                            "asyncio-loop-bound",
                            f"'{dotted(target)}' (asyncio.{primitive}) is created in __init__; "
                            "nothing here runs it in more than one event loop",
                            INFO,
                        )


def _never_waited(ctx: ModuleContext, methods: list[FunctionNode], lock: str) -> bool:
    """True when every acquisition of the asyncio lock ``lock`` comes right after an
    ``if lock.locked(): return`` in the same coroutine: it is only ever taken free, and an
    asyncio lock binds to a loop only when a coroutine has to wait for it."""
    acquisitions: list[ast.AST] = []
    for method in methods:
        for node in ctx.local(method):
            taken = isinstance(node, (ast.With, ast.AsyncWith)) and any(
                dotted(i.context_expr) == lock for i in node.items
            )
            if taken or call_name(node) in {f"{lock}.acquire", f"{lock}.wait"}:
                acquisitions.append(node)
    return bool(acquisitions) and all(_after_locked_refusal(ctx, a, lock) for a in acquisitions)


def _after_locked_refusal(ctx: ModuleContext, node: ast.AST, lock: str) -> bool:
    """``node`` is the statement right after ``if lock.locked(): return`` (no ``await``
    can come between the test and the acquisition)."""
    statement = node
    while not isinstance(statement, ast.stmt):
        parent = ctx.parent(statement)
        if parent is None:
            return False
        statement = parent
    parent = ctx.parent(statement)
    block = _containing_block(parent, statement) if parent is not None else None
    if not block:
        return False
    index = block.index(statement)
    if index == 0:
        return False
    before = block[index - 1]
    return (
        isinstance(before, ast.If)
        and call_name(before.test) == f"{lock}.locked"
        and bool(before.body)
        and isinstance(before.body[-1], (ast.Return, ast.Raise))
    )


def check_fallback(ctx: ModuleContext) -> Iterator[Hit]:
    """``fallback-recursion``."""
    for function in _functions(ctx):
        params = [
            a.arg
            for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)
        ]
        if any(_RECORD_PARAM.search(p) for p in params):
            continue
        is_method = ctx.method_class(function) is not None
        for node in ctx.local(function):
            if not isinstance(node, ast.Call):
                continue
            callee = dotted(node.func)
            recursive = callee == function.name and not is_method
            recursive = recursive or (is_method and callee in {f"self.{function.name}"})
            recursive = recursive or (is_method and callee == f"cls.{function.name}")
            if not recursive or not _after_failure(ctx, node):
                continue
            if _makes_progress(node, params) or _counts_to_a_bound(node, function, params):
                continue
            if _passes_part_through_local(ctx, node, function, params):
                continue
            if _passes_rest_of_iterator(node, function, params):
                continue
            if _retries_once(ctx, node, function):
                continue
            if _asks_the_user(ctx, function):
                yield (
                    node,
                    "fallback-recursion",
                    f"'{function.name}' asks again after invalid input: the person at the "
                    "prompt ends it, not a chain of fallbacks",
                    INFO,
                )
                break
            if _state_changed_before(ctx, node):
                yield (
                    node,
                    "fallback-recursion",
                    f"'{function.name}' calls itself after a failure; the state it tested "
                    "may have changed first",
                    INFO,
                )
                break
            if _same_arguments(call=node, function=function):
                yield (
                    node,
                    "fallback-recursion",
                    f"'{function.name}' retries itself with its own arguments after a "
                    "failure: no alternative to alternate with; it ends when the outside does",
                    INFO,
                )
                break
            yield (
                node,
                "fallback-recursion",
                f"'{function.name}' calls itself after a failure with no record of what was tried",
            )
            break


_LAZY_VIEWS = frozenset({"filter", "map", "iter", "islice", "filterfalse", "takewhile"})


def _retries_once(ctx: ModuleContext, call: ast.Call, function: FunctionNode) -> bool:
    """True when the recursive call sets a flag parameter the function tests before it
    recurses: ``if not _recovery: return self.write(data, _recovery=True)``, where the
    flag defaults to a false constant. The second call finds the flag set and does not
    recurse again: one retry, not a chain of fallbacks."""
    defaults = _parameter_defaults(function)
    flags = set()
    for keyword in call.keywords:
        default = defaults.get(keyword.arg or "")
        if (
            isinstance(keyword.value, ast.Constant)
            and keyword.value.value
            and isinstance(default, ast.Constant)
            and not default.value
        ):
            flags.add(keyword.arg)
    child: ast.AST = call
    for ancestor in ctx.ancestors(call):
        if ancestor is function:
            return False
        if isinstance(ancestor, ast.If) and any(child is s for s in ancestor.body):
            tested = _negated(ancestor.test)
            if isinstance(tested, ast.Name) and tested.id in flags:
                return True
        child = ancestor
    return False


def _passes_rest_of_iterator(call: ast.Call, function: FunctionNode, params: list[str]) -> bool:
    """True when the recursive call hands on the rest of an iterator the function is
    consuming (``for hook in hooks`` and ``run(filter(is_safe, hooks))``): every call
    takes items from the same iterator, so the recursion ends when the items do."""
    consumed = {
        n.iter.id
        for n in ast.walk(function)
        if isinstance(n, (ast.For, ast.AsyncFor))
        and isinstance(n.iter, ast.Name)
        and n.iter.id in params
    }
    if not consumed:
        return False
    views: set[str] = set()
    for n in ast.walk(function):
        if (
            isinstance(n, ast.Assign)
            and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name)
            and isinstance(n.value, ast.Call)
            and last_name(n.value.func) in _LAZY_VIEWS
            and any(isinstance(a, ast.Name) and a.id in consumed for a in n.value.args)
        ):
            views.add(n.targets[0].id)
    arguments = [*call.args, *(k.value for k in call.keywords)]
    for arg in arguments:
        if isinstance(arg, ast.Name) and arg.id in views:
            return True
        if (
            isinstance(arg, ast.Call)
            and last_name(arg.func) in _LAZY_VIEWS
            and any(isinstance(a, ast.Name) and a.id in consumed for a in arg.args)
        ):
            return True
    return False


def _makes_progress(call: ast.Call, params: list[str]) -> bool:
    """True when the recursive call walks somewhere else rather than retrying: it passes
    a part of a parameter (``task.on_error``, a structure's child) or another parameter
    in a parameter's place (``get_style(default)``: the default is then used up)."""
    positional = [p for p in params if p not in {"self", "cls"}]
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Attribute) and dotted(arg.value) in positional:
            return True
        if (
            isinstance(arg, ast.Name)
            and arg.id in positional
            and index < len(positional)
            and positional[index] != arg.id
        ):
            return True
    for keyword in call.keywords:
        value = keyword.value
        if isinstance(value, ast.Attribute) and dotted(value.value) in positional:
            return True
        if isinstance(value, ast.Name) and value.id in positional and keyword.arg != value.id:
            return True
    return False


def _passes_part_through_local(
    ctx: ModuleContext, call: ast.Call, function: FunctionNode, params: list[str]
) -> bool:
    """True when the recursive call passes a local the function binds once to a part of
    a parameter (``context = exc.__context__`` then ``unwrap(context)``): it walks a
    structure, as :func:`_makes_progress` says of ``unwrap(exc.__context__)``."""
    for arg in (*call.args, *(k.value for k in call.keywords)):
        if not isinstance(arg, ast.Name):
            continue
        value = ctx.assigned_once(function, arg.id)
        if isinstance(value, ast.Attribute) and dotted(value.value) in params:
            return True
    return False


def _counts_to_a_bound(call: ast.Call, function: FunctionNode, params: list[str]) -> bool:
    """True when the recursive call passes a parameter stepped by a constant
    (``redirect_count + 1``) and the function compares that parameter with something (a
    limit): each call moves one step closer to it, so the recursion ends."""
    stepped: set[str] = set()
    for arg in (*call.args, *(k.value for k in call.keywords)):
        if (
            isinstance(arg, ast.BinOp)
            and isinstance(arg.op, (ast.Add, ast.Sub))
            and isinstance(arg.left, ast.Name)
            and arg.left.id in params
            and isinstance(arg.right, ast.Constant)
            and isinstance(arg.right.value, int)
        ):
            stepped.add(arg.left.id)
    return any(
        isinstance(node, ast.Compare)
        and any(
            isinstance(n, ast.Name) and n.id in stepped
            for side in (node.left, *node.comparators)
            for n in ast.walk(side)
        )
        for node in walk_local(function)
    )


def _same_arguments(*, call: ast.Call, function: FunctionNode) -> bool:
    """True when the recursive call passes the function's own parameters unchanged, each in
    its own place (``return self.recv(*args, **kwargs)``): a retry of the same operation,
    not a fallback to another alternative (what the rule looks for)."""
    arguments = function.args
    positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    if positional and positional[0] in {"self", "cls"}:
        positional = positional[1:]
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            if not (
                arguments.vararg is not None
                and isinstance(arg.value, ast.Name)
                and arg.value.id == arguments.vararg.arg
            ):
                return False
        elif not (
            isinstance(arg, ast.Name) and index < len(positional) and arg.id == positional[index]
        ):
            return False
    named = {*positional, *(a.arg for a in arguments.kwonlyargs)}
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg is None:
            if not (
                arguments.kwarg is not None
                and isinstance(value, ast.Name)
                and value.id == arguments.kwarg.arg
            ):
                return False
        elif not (isinstance(value, ast.Name) and value.id == keyword.arg in named):
            return False
    return True


def _state_changed_before(ctx: ModuleContext, call: ast.AST) -> bool:
    """True when, inside the ``if`` that leads to the recursive call, something is changed
    before it: the test no longer holds (``if d not in sys.path: sys.path.insert(...)``) or
    a method of the object runs (``self.stop()``)."""
    for ancestor in ctx.ancestors(call):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return False
        if isinstance(ancestor, ast.ExceptHandler) and (
            _changes_self_before(ancestor, call)  # ``self._decoder = other()``, then retry
            or _changes_argument_before(ancestor, call)  # ``args["engine"] = other``, then retry
        ):
            return True
        if not isinstance(ancestor, ast.If):
            continue
        tested = {dotted(n) for n in ast.walk(ancestor.test)} - {""}
        for stmt in ancestor.body:
            if call in set(ast.walk(stmt)):
                break
            for node in ast.walk(stmt):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                receiver = dotted(node.func.value)
                if receiver in tested or receiver == "self":
                    return True
    return False


def _changes_self_before(handler: ast.ExceptHandler, call: ast.AST) -> bool:
    """True when the handler assigns an attribute of ``self`` before the recursive call."""
    for stmt in handler.body:
        if call in set(ast.walk(stmt)):
            return False
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = assigned_targets(node)
                if any(dotted(t).startswith("self.") for t in targets):
                    return True
    return False


def _changes_argument_before(handler: ast.ExceptHandler, call: ast.AST) -> bool:
    """True when the handler stores into an item or attribute of a name that it then passes
    to the recursive call: the call retries with changed input, not the same one."""
    if not isinstance(call, ast.Call):
        return False
    passed = {
        a.id for a in [*call.args, *(k.value for k in call.keywords)] if isinstance(a, ast.Name)
    }
    for node in ast.walk(handler):
        if not isinstance(node, (ast.Assign, ast.AugAssign)) or node.lineno >= call.lineno:
            continue  # only what runs before the call (in the handler, branches included)
        targets = assigned_targets(node)
        for target in targets:
            if (
                isinstance(target, (ast.Subscript, ast.Attribute))
                and isinstance(target.value, ast.Name)
                and target.value.id in passed
            ):
                return True
    return False


def _asks_the_user(ctx: ModuleContext, function: FunctionNode) -> bool:
    """True when ``function`` reads an answer at an interactive prompt (``input()``)."""
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "input"
        for node in ctx.local(function)
    )


def _after_failure(ctx: ModuleContext, node: ast.AST) -> bool:
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return False
        if isinstance(ancestor, ast.ExceptHandler):
            return True
        if isinstance(ancestor, (ast.If, ast.While)) and _FAILURE_TEST.search(
            ast.unparse(ancestor.test)
        ):
            return True
    return False


_LISTINGS = frozenset({"glob", "rglob", "iglob", "iterdir", "listdir", "scandir"})
_DELETERS = frozenset({"os.remove", "os.unlink"})
_GONE_ERRORS = frozenset(
    {"FileNotFoundError", "OSError", "IOError", "EnvironmentError", "Exception", "BaseException"}
)


def check_prunes(ctx: ModuleContext) -> Iterator[Hit]:
    """``file-prune-race``: a function lists a directory and deletes entries of it (the
    oldest cache files, the expired ones) with ``unlink()`` / ``os.remove()`` that raise
    when the entry is already gone. Every process (or thread) that prunes the same
    directory lists the same entries: the first deletes one, the second's delete raises
    ``FileNotFoundError`` after its own work was done."""
    for function in _functions(ctx):
        for call in ctx.local(function):
            if not isinstance(call, ast.Call):
                continue
            name = ctx.resolve(call_name(call))
            if name in _DELETERS and call.args:
                deleted = call.args[0]
            elif (
                last_name(call) == "unlink"
                and isinstance(call.func, ast.Attribute)
                and not call.args
                and not any(k.arg == "missing_ok" for k in call.keywords)
            ):
                deleted = call.func.value
            else:
                continue
            if not _listed_entry(ctx, function, deleted) or _tolerates_gone(ctx, call):
                continue
            if _is_test_code(ctx, call):
                yield (
                    call,
                    "file-prune-race",
                    f"'{_short(deleted)}' comes from a directory listing and its delete "
                    "raises if it is already gone; in test code, whose directory is its own",
                    INFO,
                )
                continue
            if not _routine_prune(ctx, function):
                yield (
                    call,
                    "file-prune-race",
                    f"'{_short(deleted)}' comes from a directory listing and its delete "
                    "raises if it is already gone; nothing shows this runs routinely (no "
                    "oldest-first order or size limit): an explicit clean-up is seldom run "
                    "by two processes at once",
                    INFO,
                )
                continue
            yield (
                call,
                "file-prune-race",
                f"'{_short(deleted)}' comes from a directory listing and its delete raises "
                "if another process or thread pruning the same directory deleted it first",
            )
            break  # one per function


def _routine_prune(ctx: ModuleContext, function: FunctionNode) -> bool:
    """True when ``function`` prunes by order or size, as an eviction that runs after
    every write does: it sorts (``sorted()``, ``.sort()``) or compares a ``len()`` with a
    limit (not with 0: whether anything is left). A clean-up that deletes what
    matches (a dead process's files, a cache being cleared) is run on request."""
    for node in ctx.local(function):
        if isinstance(node, ast.Call) and last_name(node) in {"sorted", "sort", "nsmallest"}:
            return True
        if (
            isinstance(node, ast.Compare)
            and any(isinstance(n, ast.Call) and call_name(n) == "len" for n in ast.walk(node))
            and not _emptiness_test(node)
        ):
            return True
    return False


def _emptiness_test(compare: ast.Compare) -> bool:
    """``len(x) == 0`` (or ``!= 0``, ``> 0``, ``< 1``, ``>= 1``): whether anything is
    left, not a size limit that makes a prune routine (``len(x) > 1`` is one)."""
    if len(compare.ops) != 1 or not isinstance(compare.comparators[0], ast.Constant):
        return False
    bound, op = compare.comparators[0].value, compare.ops[0]
    if isinstance(bound, bool) or not isinstance(bound, int):
        return False
    return bound == 0 or (bound == 1 and isinstance(op, (ast.Lt, ast.GtE)))


def _listed_entry(ctx: ModuleContext, function: FunctionNode, expr: ast.expr) -> bool:
    """True when ``expr`` is an entry of a directory listing made in ``function``: a loop
    variable over a listing, or an item of a list built from one (``sorted(glob(...))``)."""
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    if isinstance(expr, ast.Call) and last_name(expr) in {"join", "joinpath"}:
        return any(_listed_entry(ctx, function, a) for a in expr.args[1:] or expr.args)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):  # directory / name
        return _listed_entry(ctx, function, expr.right)
    if not isinstance(expr, ast.Name):
        return False
    for node in ctx.local(function):
        if isinstance(node, (ast.For, ast.comprehension)):
            bound, source = ast.walk(node.target), node.iter
        elif isinstance(node, ast.Assign):
            bound, source = iter(node.targets), node.value
        else:
            continue
        named = any(isinstance(t, ast.Name) and t.id == expr.id for t in bound)
        if named and _is_listing(ctx, function, source):
            return True
    return False


def _is_listing(  # noqa: PLR0911 - one return per form of listing
    ctx: ModuleContext, function: FunctionNode, expr: ast.expr, depth: int = 0
) -> bool:
    """True when ``expr`` lists a directory: ``glob``/``iterdir``/``listdir``/``scandir``,
    wrapped in ``sorted``/``list``/a comprehension, a local bound to one, or a method of
    the same class that returns one."""
    if depth > 3:  # a chain of wrappers, not a recursion
        return False
    again = functools.partial(_is_listing, ctx, function, depth=depth + 1)
    if isinstance(expr, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        return any(again(g.iter) for g in expr.generators)
    if isinstance(expr, ast.Name):
        return any(
            isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)
            and again(n.value)
            for n in ctx.local(function)
        )
    if not isinstance(expr, ast.Call):
        return False
    name = last_name(expr)
    if name in _LISTINGS:
        return True
    if name in {"sorted", "list", "reversed", "filter", "tuple"} and expr.args:
        return any(again(a) for a in expr.args)
    cls = ctx.class_of(function)
    if (
        cls is not None
        and isinstance(expr.func, ast.Attribute)
        and dotted(expr.func.value) == "self"
    ):
        helper = _methods_of(cls).get(name)
        if helper is not None:
            return any(
                isinstance(r, ast.Return)
                and r.value is not None
                and _is_listing(ctx, helper, r.value, depth + 1)
                for r in ctx.local(helper)
            )
    return False


def _tolerates_gone(ctx: ModuleContext, call: ast.AST) -> bool:
    """True when a ``try`` around ``call`` catches ``FileNotFoundError`` (or a base of it),
    or a ``with contextlib.suppress(...)`` naming one does."""
    for ancestor in ctx.ancestors(call):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return False
        is_try = isinstance(ancestor, ast.Try) or type(ancestor).__name__ == "TryStar"
        if is_try and any(
            _handler_catches(handler, _GONE_ERRORS) for handler in getattr(ancestor, "handlers", [])
        ):
            return True
        if isinstance(ancestor, (ast.With, ast.AsyncWith)):
            for item in ancestor.items:
                expr = item.context_expr
                if (
                    isinstance(expr, ast.Call)
                    and last_name(expr) == "suppress"
                    and any(last_name(a) in _GONE_ERRORS for a in expr.args)
                ):
                    return True
    return False


CHECKS: tuple[Callable[[ModuleContext], Iterator[Hit]], ...] = (
    check_singletons,
    check_sqlite,
    check_files,
    check_prunes,
    check_shared_state,
    check_asyncio,
    check_fallback,
)
"""Every check, in report order."""


def run_checks(
    tree: ast.Module, project: ProjectIndex | None = None, *, test_module: bool = False
) -> list[tuple[ast.AST, str, str, Severity | None]]:
    """Run every check on one parsed module; ``project`` holds facts from the other
    modules of the run; ``test_module`` says the module is test code. Each hit is
    ``(node, rule id, message, severity or None)``."""
    ctx = ModuleContext(tree, project, test_module=test_module)
    hits: list[tuple[ast.AST, str, str, Severity | None]] = []
    for check in CHECKS:
        for hit in check(ctx):
            if len(hit) == 4:
                hits.append(hit)
            else:
                hits.append((hit[0], hit[1], hit[2], None))
    return hits
