"""Type hints of the program's functions and classes, as the tests read them: `typing.get_type_hints`,
`inspect.get_annotations(..., eval_str=True)` and `inspect.signature(..., eval_str=True)`.

An annotation written as a string (`from __future__ import annotations`, or `-> "Node"`) is the program's text, and
Python would `eval` it here, where the verdict is made. So a program's string annotations are evaluated by the
judge's walking evaluator (evaluation.py) against the program's module globals (read there, as `solution.X`), and
a class's annotations are read from the program's class, base by base (its mirror here has none of its own).
Everything that is not the program's goes to Python's own functions.
"""

from __future__ import annotations

import functools
import inspect
import operator
import sys
import types
import typing
from collections.abc import Mapping

from .evaluation import evaluate_expression
from .proxies import BoundRemote, RemoteClass, RemoteMember, RemoteObject

_ORIGINAL = {"hints": typing.get_type_hints, "annotations": inspect.get_annotations, "signature": inspect.signature}


class _ProgramNames(Mapping):
    """The names a program annotation may use: the given ones first, then the program's module globals."""

    def __init__(self, given):
        self.given = given

    def __getitem__(self, name):
        if name in self.given:
            return self.given[name]
        module = sys.modules.get("solution")
        if module is None or name.startswith("_"):
            raise KeyError(name)
        try:
            return getattr(module, name)
        except AttributeError:
            raise KeyError(name) from None

    def __contains__(self, name):
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self):
        return iter(self.given)

    def __len__(self):
        return len(self.given)


def _of_program(obj) -> bool:
    return issubclass(type(obj), (RemoteObject, RemoteClass, RemoteMember, BoundRemote))


def _raw(obj) -> dict:
    """The annotations as the program stores them: for a class, of the class alone (not its bases)."""
    if type(obj) is RemoteMember and obj.owner is not None:
        obj = BoundRemote(obj.owner, obj.name)
    if type(obj) is BoundRemote:  # a method read on the class or on an object: the program's function or method
        obj = obj.target._ic_conn.get(obj.target, obj.name)
    if isinstance(obj, RemoteClass):
        raw = obj._ic_conn.get(obj, "__annotations__") if "_ic_desc" in obj.__dict__ else \
            obj.__dict__.get("__annotations__", {})
    else:
        raw = getattr(obj, "__annotations__", None)
    if raw is None:
        raise TypeError(f"{obj!r} is not a module, class, method, or function.")
    if not isinstance(raw, dict):
        raise TypeError(f"the annotations of {obj!r} are not a dict")
    return raw


def _evaluated(raw: dict, names) -> dict:
    return {key: _resolved(value, names) for key, value in raw.items()}


def _resolved(value, names, depth=0):
    """`value` with the forward references inside it (`Optional["Node"]`) evaluated, as typing does."""
    if depth > 20:
        raise RecursionError("annotation nested too deeply")
    if isinstance(value, (str, typing.ForwardRef)):  # (a quoted name under `from __future__ import annotations`)
        text = value if isinstance(value, str) else value.__forward_arg__
        return _resolved(evaluate_expression(text, names), names, depth + 1)
    args = getattr(value, "__args__", None)
    if type(args) is not tuple or typing.get_origin(value) is typing.Literal:
        return value
    new = tuple(_resolved(arg, names, depth + 1) for arg in args)
    if all(a is b for a, b in zip(new, args, strict=True)):
        return value
    if isinstance(value, types.GenericAlias):
        return types.GenericAlias(value.__origin__, new)
    if isinstance(value, types.UnionType):
        return functools.reduce(operator.or_, new)
    return value.copy_with(new) if hasattr(value, "copy_with") else value


def type_hints(obj, globalns=None, localns=None, include_extras=False):
    """typing.get_type_hints, with the program's string annotations evaluated as above."""
    if not _of_program(obj):
        return _ORIGINAL["hints"](obj, globalns, localns, include_extras)
    names = _ProgramNames({**(globalns or {}), **(localns or {})})
    if isinstance(obj, RemoteClass):
        hints = {}
        for base in reversed(obj.__mro__):
            if isinstance(base, RemoteClass):
                hints.update(_evaluated(_raw(base), names))
            else:  # a library base (object, Generic): its own annotations, never the program's text
                hints.update({k: v for k, v in base.__dict__.get("__annotations__", {}).items()
                              if not isinstance(v, str)})
    else:
        hints = _evaluated(_raw(obj), names)
    hints = {key: type(None) if value is None else value for key, value in hints.items()}
    strip = getattr(typing, "_strip_annotations", None)
    if not include_extras and strip is not None:
        hints = {key: strip(value) for key, value in hints.items()}
    return hints


def get_annotations(obj, *, globals=None, locals=None, eval_str=False):  # noqa: A002 (inspect's own names)
    """inspect.get_annotations, with eval_str=True evaluating the program's strings as above."""
    if not _of_program(obj):
        return _ORIGINAL["annotations"](obj, globals=globals, locals=locals, eval_str=eval_str)
    raw = dict(_raw(obj))
    if not eval_str:
        return raw
    names = _ProgramNames({**(globals or {}), **(locals or {})})
    return {key: _once(value, names) for key, value in raw.items()}


def signature(obj, *, follow_wrapped=True, globals=None, locals=None, eval_str=False):  # noqa: A002
    """inspect.signature, with eval_str=True evaluating the program's strings as above."""
    program = _of_program(obj)
    found = _ORIGINAL["signature"](obj, follow_wrapped=follow_wrapped, globals=globals, locals=locals,
                                   eval_str=eval_str and not program)
    if not (eval_str and program):
        return found
    names = _ProgramNames({**(globals or {}), **(locals or {})})
    return found.replace(parameters=[p.replace(annotation=_once(p.annotation, names))
                                     for p in found.parameters.values()],
                         return_annotation=_once(found.return_annotation, names))


def _once(value, names):
    """What inspect's eval_str does: a string annotation evaluated, once; anything else as it is."""
    return evaluate_expression(value, names) if isinstance(value, str) else value


def install():
    """Once, at the judge's start (inspect.signature finds get_annotations in inspect's globals)."""
    typing.get_type_hints = type_hints
    inspect.get_annotations = get_annotations
    inspect.signature = signature
