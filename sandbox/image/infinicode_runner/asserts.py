"""Assertions with values: `assert a == b` in the tests is rewritten so that a failure shows both sides (each
evaluated once), and what each test's outcome is, made from the exception that ended it."""

from __future__ import annotations

import ast
import functools
import traceback

import pytest

from .proxies import TEST_FILE, CandidateError, CandidateGone, Deadline, RemoteObject, Unsupported

MAX_REPR = 400  # characters of a value shown in a message


def short(value):
    try:
        text = repr(value)
    except (Deadline, CandidateGone, Unsupported):
        raise
    except BaseException:
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + "..."


class AssertionFailed(AssertionError):
    def __init__(self, message, expected=None, actual=None):
        super().__init__(message)
        self.expected, self.actual = expected, actual


_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "is": lambda a, b: a is b,
            "is not": lambda a, b: a is not b, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b}


class AssertRewriter:
    """`assert L op R, msg` -> `__ic_assert(ID, lambda: L, op, lambda: R, lambda: msg)`; other asserts keep their
    test as a thunk. With soft=True a failure is recorded and execution goes on (HumanEval's check)."""

    def __init__(self, source):
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.asserts = []  # (id, line, text)

    def _text(self, node):
        """The assert's source text (ast.get_source_segment splits the whole source again on every call)."""
        try:
            lines = self.lines[node.lineno - 1:node.end_lineno]
            if len(lines) == 1:
                return lines[0].encode()[node.col_offset:node.end_col_offset].decode()
            first = lines[0].encode()[node.col_offset:].decode()
            last = lines[-1].encode()[:node.end_col_offset].decode()
            return "".join([first, *lines[1:-1], last])
        except (IndexError, TypeError, UnicodeDecodeError):
            return ast.unparse(node)

    def visit_Assert(self, node):
        if any(isinstance(n, (ast.NamedExpr, ast.Yield, ast.YieldFrom)) for n in ast.walk(node)):
            return node
        awaits = _awaits(node.test)
        if node.msg is not None and _awaits(node.msg):
            return node
        text = self._text(node)
        aid = len(self.asserts)
        self.asserts.append((aid, node.lineno, " ".join(text.split())))

        def thunk(expr):
            return ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                 defaults=[]), body=expr)

        test = node.test
        msg = thunk(node.msg) if node.msg is not None else ast.Constant(None)
        before = []
        if awaits:  # `assert await f() == 6` in an async test: the awaits run first, in the test, into names
            def evaluated(expr, side):
                name = f"__ic_{side}_{aid}"
                before.append(ast.Assign(targets=[ast.Name(name, ast.Store())], value=expr))
                return ast.Name(name, ast.Load())

            if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
                test = ast.Compare(left=evaluated(test.left, "left"), ops=test.ops,
                                   comparators=[evaluated(test.comparators[0], "right")])
            else:
                test = evaluated(test, "value")
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
            args = [ast.Constant(aid), thunk(test.left), ast.Constant(_OPS[type(test.ops[0])]),
                    thunk(test.comparators[0]), msg]
        elif isinstance(test, ast.Call) and not any(isinstance(a, ast.Starred) for a in test.args) \
                and all(k.arg for k in test.keywords):
            # assert f(a, b): arguments evaluated once and shown with the result, as pytest's "where" line does
            packed = ast.Tuple(elts=[*test.args, ast.Dict(keys=[ast.Constant(k.arg) for k in test.keywords],
                                                          values=[k.value for k in test.keywords])], ctx=ast.Load())
            args = [ast.Constant(aid), thunk(test.func), ast.Constant("call " + ast.unparse(test.func)),
                    thunk(packed), msg]
        else:
            shown = isinstance(test, (ast.Name, ast.Attribute, ast.Subscript))
            args = [ast.Constant(aid), thunk(test), ast.Constant("value" if shown else None), ast.Constant(None),
                    msg]
        call = ast.Call(func=ast.Name("__ic_assert__", ast.Load()), args=args, keywords=[])
        statements = [*before, ast.Expr(call)]
        for statement in statements:
            for new_node in ast.walk(statement):  # locations for the new nodes only
                if "lineno" in new_node._attributes and not hasattr(new_node, "lineno"):
                    ast.copy_location(new_node, node)
        return statements

    def rewrite(self, statements):
        """Asserts are statements: descend through statement bodies only, never into expressions."""
        out = []
        for stmt in statements:
            if isinstance(stmt, ast.Assert):
                rewritten = self.visit_Assert(stmt)
                if isinstance(rewritten, list):
                    out += rewritten
                    continue
                stmt = rewritten
            else:
                for name in ("body", "orelse", "finalbody"):
                    block = getattr(stmt, name, None)
                    if isinstance(block, list):
                        setattr(stmt, name, self.rewrite(block))
                for part in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
                    part.body = self.rewrite(part.body)
            out.append(stmt)
        return out


@functools.lru_cache(maxsize=256)  # the same tests judge every candidate of a task
def _awaits(expr):
    """Whether the expression needs the async test around it: an `await`, or `async for` in a comprehension."""
    return any(isinstance(n, ast.Await) or (isinstance(n, ast.comprehension) and n.is_async) for n in ast.walk(expr))


def compile_tests(source):
    tree = ast.parse(source, TEST_FILE)
    rewriter = AssertRewriter(source)
    tree.body = rewriter.rewrite(tree.body)
    return compile(tree, TEST_FILE, "exec", dont_inherit=True), tuple(rewriter.asserts)


class AssertRecorder:
    """Implements __ic_assert: hard (raise) or soft (record per assert id and go on). A failure inside a call
    from the program (a callback) is also kept aside: the program cannot make it go away by catching it."""

    def __init__(self, texts, soft, conn):
        self.texts = {aid: text for aid, _line, text in texts}
        self.soft, self.conn = soft, conn
        self.results = {}  # id -> outcome dict (first failure kept)
        self.swallowable = []  # failures raised inside callbacks, since the current test started

    def __call__(self, aid, left, op, right, msg):
        text = self.texts.get(aid, "assert")
        try:
            if op is None:
                ok, expected, actual, detail = bool(left()), None, None, ""
            elif op == "value":
                value = left()
                ok, expected, actual, detail = bool(value), None, None, f": the value was {short(value)}"
            elif op.startswith("call "):
                fn, (*pos, kw) = left(), right()
                value = fn(*pos, **kw)
                ok, expected, actual = bool(value), None, None
                shown = ", ".join([*(short(a) for a in pos), *(f"{k}={short(v)}" for k, v in kw.items())])
                detail = f": {op[5:]}({shown}) returned {short(value)}"
            else:
                lv, rv = left(), right()
                ok = bool(_COMPARE[op](lv, rv))
                actual, expected = short(lv), short(rv)
                detail = f": left {actual} {op} right {expected} is false"
            if ok:
                self.results.setdefault(aid, {"name": text, "outcome": "passed", "message": ""})
                return
            extra = f" ({short(msg())})" if msg is not None else ""
            message = f"{text}{detail}{extra}"
            if op != "==":
                expected = actual = None
            failure = AssertionFailed(message, expected, actual)
        except (Deadline, CandidateGone, Unsupported):
            raise
        except Exception as exc:
            if not self.soft:
                raise
            self._record(aid, outcome_for_exception(exc, text))
            return
        if self.conn.nesting:
            self.swallowable.append(failure)
        if not self.soft:
            raise failure
        self._record(aid, {"name": text, "outcome": "failed", "message": message,
                           "expected": failure.expected, "actual": failure.actual})

    def _record(self, aid, outcome):
        previous = self.results.get(aid)
        if previous is None or previous["outcome"] == "passed":
            self.results[aid] = outcome


def outcome_for_exception(exc, name):
    if isinstance(exc, Unsupported):
        return {"name": name, "outcome": "unsupported", "message": str(exc)}
    if isinstance(exc, AssertionFailed):
        return {"name": name, "outcome": "failed", "message": str(exc), "expected": exc.expected,
                "actual": exc.actual, "traceback": ""}
    if isinstance(exc, pytest.fail.Exception):  # pytest.fail(), pytest.raises(...) that saw nothing raised
        return {"name": name, "outcome": "failed", "message": _text(exc) or "failed", "traceback": judge_traceback(exc)}
    if isinstance(exc, AssertionError) and not isinstance(exc, RemoteObject):
        return {"name": name, "outcome": "failed", "message": _text(exc) or "assertion failed",
                "traceback": judge_traceback(exc)}
    remote_tb = getattr(exc, "_ic_remote_tb", "")
    text = _text(exc)
    message = text if isinstance(exc, CandidateError) else f"{type(exc).__name__}: {text}"
    return {"name": name, "outcome": "error", "message": message[:2000],
            "traceback": remote_tb or judge_traceback(exc)}


def _text(exc):
    try:
        return str(exc)
    except (Deadline, CandidateGone, Unsupported):
        raise
    except BaseException:
        return "<unprintable>"


def judge_traceback(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == TEST_FILE]
    return "".join(traceback.format_list(frames[-4:]))[-2000:]
