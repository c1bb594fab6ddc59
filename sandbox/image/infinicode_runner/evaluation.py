"""`eval` in the tests' code, as the judge runs it. A string the tests evaluate may be the program's text
(`assert eval(repr(p)) == p`), and Python's eval would run whatever it says where the verdict is made. So a string
is evaluated here by walking its expression: literals, containers, operators, names and attribute reads (never one
with a leading underscore), and calls only of what cannot act on the judge's process: the program's functions and
classes (they run in the candidate), the tests' own classes, value types, and pure builtins and `math` functions.
Anything else is refused with an error that names it. A code object (the tests compiled it themselves) runs as
Python's eval.
"""

from __future__ import annotations

import ast
import builtins
import collections
import datetime
import decimal
import fractions
import operator
import sys

from .asserts import AssertRecorder
from .proxies import TEST_MODULE, BoundRemote, BoundSuper, RemoteMember, Unsupported, is_proxy

_RECORDER_CALL = AssertRecorder.__call__.__code__

VALUE_TYPES = (bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset, range, slice,
               type(None), decimal.Decimal, fractions.Fraction, datetime.date, datetime.datetime, datetime.time,
               datetime.timedelta, datetime.timezone, collections.OrderedDict, collections.Counter,
               collections.deque)
PURE_BUILTINS = {abs, all, any, bin, chr, divmod, hex, len, oct, ord, pow, round, sum, min, max, sorted, reversed,
                 enumerate, zip, hash, isinstance, repr, ascii}
_NO_KEY = {min, max, sorted}  # a key= function would be called: only as a call of its own
_UNSAFE_METHODS = {"format", "format_map"}  # format strings read attributes by name

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
           ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
           ast.BitXor: operator.xor, ast.BitAnd: operator.and_, ast.MatMult: operator.matmul}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Not: operator.not_, ast.Invert: operator.invert}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


class EvalRefused(ValueError):
    pass


def _callable_ok(fn) -> bool:
    if is_proxy(fn) or issubclass(type(fn), (RemoteMember, BoundRemote, BoundSuper)):
        return True  # the program's function, class or method: it runs in the candidate
    if isinstance(fn, type):
        return fn in VALUE_TYPES or fn.__module__ == TEST_MODULE or (issubclass(fn, tuple) and hasattr(fn, "_fields"))
    kind = type(fn).__name__
    if kind != "builtin_function_or_method":
        return False
    if fn.__self__ is builtins:
        return fn in PURE_BUILTINS
    if getattr(fn, "__module__", None) in ("math", "cmath"):
        return True
    # a method of a value: "a,b".split(","), [1, 2].count(1)
    return isinstance(fn.__self__, VALUE_TYPES) and fn.__name__ not in _UNSAFE_METHODS


class _Evaluator:
    def __init__(self, names):
        self.names = names

    def run(self, node):
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise EvalRefused(f"eval() in the judge does not evaluate {type(node).__name__} (a string the tests "
                              "evaluate may be the program's text)")
        return method(node)

    def _Expression(self, node):
        return self.run(node.body)

    def _Constant(self, node):
        return node.value

    def _Name(self, node):
        if node.id.startswith("__"):
            raise EvalRefused(f"eval() in the judge does not read {node.id}")
        if node.id in self.names:
            return self.names[node.id]
        if hasattr(builtins, node.id):
            return getattr(builtins, node.id)
        raise NameError(f"name {node.id!r} is not defined")

    def _Attribute(self, node):
        if node.attr.startswith("_"):
            raise EvalRefused(f"eval() in the judge does not read the attribute {node.attr}")
        return getattr(self.run(node.value), node.attr)

    def _Call(self, node):
        fn = self.run(node.func)
        if not _callable_ok(fn) or (any(fn is f for f in _NO_KEY) and node.keywords):
            name = getattr(fn, "__qualname__", None) or type(fn).__name__
            raise EvalRefused(f"eval() in the judge does not call {name} (a string the tests evaluate may be the "
                              "program's text; values, the program's and the tests' classes, and pure functions only)")
        args = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                args.extend(self.run(arg.value))
            else:
                args.append(self.run(arg))
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                kwargs.update(self.run(kw.value))
            else:
                kwargs[kw.arg] = self.run(kw.value)
        for value in [*args, *kwargs.values()]:  # what the callee may call ([...].sort(key=f)) passes the same test
            if callable(value) and not isinstance(value, type) and not _callable_ok(value):
                raise EvalRefused(f"eval() in the judge does not hand {type(value).__name__} objects to a call")
        return fn(*args, **kwargs)

    def _List(self, node):
        return [self.run(e) for e in node.elts]

    def _Tuple(self, node):
        return tuple(self.run(e) for e in node.elts)

    def _Set(self, node):
        return {self.run(e) for e in node.elts}

    def _Dict(self, node):
        out = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                out.update(self.run(value))
            else:
                out[self.run(key)] = self.run(value)
        return out

    def _BinOp(self, node):
        return _BINARY[type(node.op)](self.run(node.left), self.run(node.right))

    def _UnaryOp(self, node):
        return _UNARY[type(node.op)](self.run(node.operand))

    def _BoolOp(self, node):
        value = None
        for operand in node.values:
            value = self.run(operand)
            if isinstance(node.op, ast.And) and not value or isinstance(node.op, ast.Or) and value:
                return value
        return value

    def _Compare(self, node):
        left = self.run(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.run(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node):
        return self.run(node.body) if self.run(node.test) else self.run(node.orelse)

    def _Subscript(self, node):
        return self.run(node.value)[self.run(node.slice)]

    def _Slice(self, node):
        part = lambda n: None if n is None else self.run(n)  # noqa: E731
        return slice(part(node.lower), part(node.upper), part(node.step))


def judge_exec(source, globals=None, locals=None, /, **kwargs):  # noqa: A002 (exec's own parameter names)
    """exec as the tests' code calls it: never, since its text (or the code compiled from it) may be the program's,
    which would then run where the verdict is made."""
    raise Unsupported("exec in the tests: the text it runs may be the program's, which must not run in the judge")


def judge_eval(source, globals=None, locals=None, /):  # noqa: A002 (eval's own parameter names)
    """eval as the tests' code calls it (judge.py puts it in their namespace)."""
    if not isinstance(source, (str, bytes)):  # a code object: compiled from text that may be the program's
        raise Unsupported("eval of compiled code in the tests: its text may be the program's")
    if isinstance(source, bytes):
        source = source.decode()
    caller = sys._getframe(1)
    names = dict(caller.f_globals if globals is None else globals)
    if globals is None and locals is None:
        test = caller.f_back.f_back if caller.f_back is not None else None
        if test is not None and caller.f_back.f_code is _RECORDER_CALL:
            # inside an assert the judge rewrote into thunks (asserts.py): the test's own locals, as unrewritten
            names.update(test.f_locals)
        names.update(caller.f_locals)
    else:
        names.update(locals or {})
    tree = ast.parse(source.strip(), mode="eval")
    return _Evaluator(names).run(tree)


def evaluate_expression(text: str, names) -> object:
    """One expression of the program's text (a string annotation), walked as above with `names` (a mapping)."""
    return _Evaluator(names).run(ast.parse(text.strip(), mode="eval"))
