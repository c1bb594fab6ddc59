"""How the candidate describes its classes to the judge, and which library objects it names instead.

The judge mirrors a class from this description (remote.py): its name, bases, the dunders to forward, and how its
instances compare. An honest description makes honest programs behave as Python objects to the tests; a lying
one can only make the candidate's own objects behave worse, since the judge decides every comparison itself.
"""

from __future__ import annotations

import collections
import collections.abc
import dataclasses
import datetime
import decimal
import enum
import fractions
import sys
import types
import typing

from .codec import container_base
from .dataclass_shape import describe_dataclass
from .library_names import walk_library
from .subclass_values import immutable_base

VALUE_BASES = {int, float, complex, str, bytes, bytearray, tuple, list, dict, set, frozenset, collections.deque,
                collections.OrderedDict, collections.Counter, collections.defaultdict, decimal.Decimal,
                fractions.Fraction, datetime.date, datetime.datetime, datetime.time, datetime.timedelta}
_FORWARDED = ("__len__", "__iter__", "__next__", "__reversed__", "__getitem__", "__setitem__", "__delitem__",
              "__contains__", "__bool__", "__call__", "__enter__", "__exit__", "__int__", "__float__", "__complex__",
              "__index__", "__round__", "__trunc__", "__floor__", "__ceil__", "__format__", "__bytes__", "__fspath__",
              "__length_hint__", "__neg__", "__pos__", "__abs__", "__invert__", "__aenter__", "__aexit__",
              "__aiter__", "__anext__", "__get__", "__set__", "__delete__", "__set_name__",
              *(f"__{p}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod",
                                           "pow", "lshift", "rshift", "and", "or", "xor") for p in ("", "r", "i")))
_ORDER = ("__lt__", "__le__", "__gt__", "__ge__")


def _generated(fn) -> bool:
    """Made by @dataclass (compiled from a string), not written by the program."""
    return getattr(getattr(fn, "__code__", None), "co_filename", None) == "<string>"


def _owner(cls, name):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass
    return object


def describe(cls, key) -> dict:
    """What the judge needs to mirror a class: name, bases, and how its instances compare."""
    doc = cls.__dict__.get("__doc__")
    desc = {"name": str(cls.__name__), "qualname": str(getattr(cls, "__qualname__", cls.__name__)),
            "doc": doc[:4000] if type(doc) is str else None,
            "module": str(getattr(cls, "__module__", "") or ""),
            "bases": [key(b) for b in cls.__bases__ if b is not object]}
    eq_owner = _owner(cls, "__eq__")
    params = getattr(cls, "__dataclass_params__", None)
    value_base = next((b for b in cls.__mro__ if b in VALUE_BASES), None)
    if isinstance(cls, enum.EnumMeta):
        desc["eq"], desc["hash"] = "enum", "identity"
        desc["mixin"] = any(b in VALUE_BASES for b in cls.__mro__)
    elif eq_owner is object:
        desc["eq"] = "identity"
    elif params is not None and params.eq and _generated(cls.__eq__):
        desc["eq"] = "dataclass"
        desc["fields"] = [f.name for f in dataclasses.fields(cls) if f.compare]
    elif value_base is not None and eq_owner is value_base:
        desc["eq"], desc["value"] = "value", value_base.__name__
    elif eq_owner is collections.abc.Mapping:  # the library's __eq__: the same items (compare.py)
        desc["eq"] = "mapping"
    elif eq_owner in (collections.UserList, collections.UserDict, collections.UserString):
        desc["eq"] = "userdata"  # the library's __eq__: its `data` against the other's (or the other itself)
    else:
        desc["eq"] = "custom"
    desc["eq_owner"] = f"{eq_owner.__qualname__}" if eq_owner is not object else ""
    if "hash" not in desc:
        h = getattr(cls, "__hash__", None)
        if h is None:
            desc["hash"] = "none"
        elif desc["eq"] == "dataclass" and _generated(h):
            desc["hash"] = "fields"
        elif desc["eq"] == "value":
            desc["hash"] = "value"
        elif h is object.__hash__:
            desc["hash"] = "identity"
        else:
            desc["hash"] = "remote"
    if params is not None and getattr(params, "order", False) and desc["eq"] == "dataclass":
        desc["order"] = "dataclass"
    elif desc["eq"] == "value":
        desc["order"] = "value"
    elif any(_owner(cls, name) is not object for name in _ORDER):
        desc["order"] = "custom"
    else:
        desc["order"] = "none"
    if _owner(cls, "__init_subclass__") is not object:  # a registry: a test's subclass must reach it when defined
        desc["init_subclass"] = True
    abstract = cls.__dict__.get("__abstractmethods__")
    if isinstance(abstract, frozenset) and abstract:  # inspect.isabstract(Shape), Shape.__abstractmethods__
        desc["abstract"] = sorted(str(name) for name in abstract)[:256]
    if params is not None:  # made by @dataclass: the judge rebuilds its fields (dataclasses.fields, asdict...)
        shape = describe_dataclass(cls)
        if shape is not None:
            desc["dataclass"] = shape
    match_args = getattr(cls, "__match_args__", None)
    if type(match_args) is tuple and all(type(a) is str for a in match_args):
        desc["match_args"] = list(match_args)
    if is_namedtuple(cls):
        desc["nt"] = [str(f) for f in cls._fields]
        defaults = getattr(cls, "_field_defaults", {}) or {}
        tail = [f for f in cls._fields if f in defaults]
        desc["nt_defaults_for"] = tail
        desc["nt_properties"] = [name for name, raw in _class_members(cls) if isinstance(raw, property)
                                 and name not in cls._fields and not name.startswith("__")][:100]
        desc["nt_text"] = [name for name in ("__str__", "__repr__")  # the program's own, not the namedtuple's
                           if getattr(getattr(getattr(cls, name), "__code__", None), "co_filename", "")
                           == "solution.py"]
    desc["dunders"] = [name for name in _FORWARDED if _owner(cls, name) is not object and hasattr(cls, name)]
    meta = type(cls)
    desc["meta"] = [d for d in ("__iter__", "__len__", "__contains__", "__getitem__")
                    if hasattr(meta, d) and _owner(meta, d) not in (type, object)]
    if getattr(cls, "_is_protocol", False) is True and getattr(cls, "_is_runtime_protocol", False) is True:
        # a runtime_checkable Protocol: the judge checks objects against its members itself (proxies.py)
        attrs = getattr(cls, "__protocol_attrs__", None)  # 3.12 on; 3.11 computes them
        if attrs is None:
            attrs = typing._get_protocol_attrs(cls)
        desc["protocol"] = sorted(str(a) for a in attrs)[:200]
    if issubclass(cls, BaseException) and _owner(cls, "__repr__") not in (BaseException, object):
        desc["own_repr"] = True  # else the judge writes the exception's repr itself, from its arguments
    immutable = immutable_base(cls)
    if immutable is not None and not is_namedtuple(cls):  # its objects carry their value (subclass_values.py)
        desc["immutable"] = immutable.__name__
    container = container_base(cls)
    if container is not None:  # its objects carry their contents, kept in step (kept.py)
        desc["container"] = container.__name__
    desc["generic"] = hasattr(cls, "__class_getitem__")  # Stack[int]: a Generic's (or a list subclass's) alias
    methods, functions = [], []
    for name in dir(cls):
        if name.startswith("__") and name != "__init__":
            continue
        for klass in cls.__mro__:
            if name in klass.__dict__:
                raw = klass.__dict__[name]
                if isinstance(raw, (types.FunctionType, staticmethod)):  # read on the class: a function
                    functions.append(name)
                if name != "__init__" and isinstance(raw, (types.FunctionType, staticmethod, classmethod,
                                                           types.BuiltinFunctionType, types.MethodDescriptorType,
                                                           types.WrapperDescriptorType)):
                    methods.append(name)
                break
    desc["methods"], desc["functions"] = methods, functions
    return desc


def _class_members(cls):
    """(name, raw class-dict entry) of each attribute, from the class that defines it."""
    seen = set()
    for klass in cls.__mro__:
        for name, raw in list(klass.__dict__.items()):
            if name not in seen:
                seen.add(name)
                yield name, raw


PRELOADED = set(sys.modules)  # what the judge has loaded too (the candidate is forked from it)


def library_name(obj):
    """[module, qualname] of a module, function or class of a preloaded library, when it resolves to obj."""
    if isinstance(obj, types.ModuleType):
        module, qualname = obj.__name__, ""
    elif isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)) or type(obj).__module__ == "typing":
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None) or getattr(obj, "_name", None) or getattr(obj, "__name__", None)
    else:
        return None
    if isinstance(module, str) and module.startswith("_") and module[1:] in PRELOADED and isinstance(qualname, str) \
            and getattr(sys.modules[module[1:]], qualname, None) is obj:
        module = module[1:]  # operator.add is _operator.add: named by the module the program imported it from
    if not isinstance(module, str) or not isinstance(qualname, str) or module not in PRELOADED:
        return None
    return [module, qualname] if walk_library(module, qualname) is obj else None


def is_namedtuple(cls):
    return cls is not tuple and issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple) \
        and isinstance(getattr(cls, "_field_defaults", None), dict) and callable(getattr(cls, "_make", None))
