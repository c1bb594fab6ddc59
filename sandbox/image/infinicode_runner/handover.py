"""What the candidate may receive from the judge, and what it may do with it.

Values cross by value (codec.py). Library functions, classes and modules go over by name: the candidate gets its
own copy, which cannot reach the judge. The tests' own functions, objects and iterators go over as handles, on
which the candidate may only call, read public attributes of the tests' own objects, and iterate. Anything else
(pytest's fixtures, the judge's modules, frames, code) cannot be handed over: the run is `unsupported`.
"""

from __future__ import annotations

import builtins
import collections
import collections.abc
import copy
import itertools
import json
import logging
import math
import operator
import os
import tempfile
import types
import unittest
import unittest.mock

import _pytest
import pluggy

from . import codec as wire
from . import subclass_values
from .dataclass_shape import describe_dataclass
from .generators import apull, awaited, pull
from .handed_library import STREAM_TYPES, library_members, record_values
from .library_names import by_name, library_object
from .loops import run_to_end
from .proxies import LIVE_TYPES, TEST_FILE, TEST_MODULE, BoundRemote, RemoteException, RemoteObject, is_proxy
from .signatures import signature_data
from .tests_objects import FORWARDED, NUMERIC

_JUDGE_DIRS = tuple(os.path.dirname(path) + os.sep for path in (_pytest.__file__, pluggy.__file__, __file__))
_LIVE_TYPES = ()  # filled below, once the live classes exist

_ITERATOR_TYPES = tuple({type(iter(x)) for x in ([], (), range(1), set(), {}, {}.values(), {}.items(), "", b"")}
                        | {enumerate, zip, map, filter, reversed, types.GeneratorType, itertools.count,
                           itertools.cycle, itertools.repeat, itertools.chain, itertools.islice})


def _handable(obj) -> bool:
    """Objects the candidate may hold a handle to: the tests' own code and objects, and iterators."""
    if isinstance(obj, types.FunctionType):  # the tests' own, or one mock's autospec made (it checks the call's
        return obj.__code__.co_filename == TEST_FILE or (  # arguments against the signature, then calls the mock)
            obj.__code__.co_filename == "<string>" and "_checksig_" in obj.__globals__
            and isinstance(obj.__dict__.get("mock"), unittest.mock.NonCallableMock))
    if isinstance(obj, types.MethodType):
        if obj.__name__ in (library_members(obj.__self__) or ()):  # `rng.randint` of the tests' random.Random
            return True
        if obj.__name__ in _NAMEDTUPLE_API and _handable(obj.__self__) and isinstance(
                getattr(obj.__self__, "_fields", None), tuple):  # `p._replace(x=1)` on the tests' namedtuple
            return True
        return _handable(obj.__func__) and (isinstance(obj.__self__, type) or _handable(obj.__self__))
    if isinstance(obj, types.GeneratorType):  # the program may only iterate it (below): any but the judge's own
        return not obj.gi_code.co_filename.startswith(_JUDGE_DIRS)
    if isinstance(obj, types.CoroutineType):  # `await fetch(i)` in the program, on an async function of the tests
        return not obj.cr_code.co_filename.startswith(_JUDGE_DIRS)
    if isinstance(obj, type):
        return obj.__module__ == TEST_MODULE
    if type(obj).__module__ in (TEST_MODULE, "unittest.mock") or type(obj) in USER_CONTAINERS or type(obj) is object:
        return True  # the tests' own objects, their mocks, containers of collections' User* classes, sentinels
    if isinstance(obj, types.MethodWrapperType):  # `iter(answers).__next__` as a callback
        return obj.__name__ == "__next__" and _handable(obj.__self__)
    if isinstance(obj, types.BuiltinMethodType):  # e.g. counts.get as a key function; a stream's write
        if isinstance(obj.__self__, types.GeneratorType):
            return obj.__name__ in _GENERATOR_METHODS and _handable(obj.__self__)
        return type(obj.__self__) in _VALUE_OWNERS or obj.__name__ in (library_members(obj.__self__) or ())
    if library_members(obj) is not None:
        return True
    return isinstance(obj, _ITERATOR_TYPES) or type(obj).__name__ in ("itemgetter", "attrgetter", "methodcaller",
                                                                      "partial")


_GENERATOR_METHODS = ("send", "throw", "close")
USER_CONTAINERS = (collections.UserDict, collections.UserList)
_CONTAINER_ABCS = [collections.abc.MutableMapping, collections.abc.Mapping, collections.abc.MutableSequence,
                   collections.abc.Sequence, collections.abc.MutableSet, collections.abc.Set]


def _proxy_kind(obj):
    """What the program's proxy of a tests' object must be to isinstance: a container ABC (their Mapping class),
    an awaitable, or a bare object."""
    if isinstance(obj, types.CoroutineType):
        return "Awaitable"
    if type(obj) is object:
        return "object"
    if type(obj).__module__ != TEST_MODULE and type(obj) not in USER_CONTAINERS:
        return None
    return next((abc.__name__ for abc in _CONTAINER_ABCS if isinstance(obj, abc)), None)


_VALUE_OWNERS = {dict, list, set, frozenset, str, bytes, tuple, collections.Counter, collections.OrderedDict,
                 collections.defaultdict, collections.deque}


_SET_CLASS = object.__dict__["__class__"].__set__


def follow_class_change(proxy, cls):
    """An object of the program whose class it changed (`self.__class__ = Open`, the state pattern): its proxy
    changes class too, where the two mirrors are alike enough for that (else it keeps the first)."""
    if issubclass(type(proxy), RemoteObject) and not isinstance(proxy, type) and type(proxy) is not cls \
            and isinstance(cls, type) and issubclass(cls, RemoteObject) \
            and "_ic_desc" in cls.__dict__:
        try:
            _SET_CLASS(proxy, cls)  # (past a mirror's own __class__ property)
        except TypeError:
            pass


class JudgeHooks:
    def __init__(self, conn):
        self.conn = conn

    def out(self, obj, refs, depth):
        if is_proxy(obj):
            if isinstance(obj, type) and "_ic_desc" not in obj.__dict__:  # a test class deriving from the program's
                self.conn.adopt_subclass(obj)  # class (`Child.create()`): made there first, so that cls is Child
            return {"h": obj._ic_hid}
        live = getattr(obj, "__dict__", {}).get("_ic_live") if type(obj) in LIVE_TYPES else None
        if live is not None and live[0] is self.conn:
            return {"h": live[1]}
        if id(obj) in self.conn.wrapped and self.conn.proxies.get(self.conn.wrapped[id(obj)]) is obj:
            return {"h": self.conn.wrapped[id(obj)]}
        mirror = getattr(type(obj), "_ic_nt", None)
        if mirror is not None and type(obj).__dict__.get("_ic_nt") is mirror:
            return {"nt": [type(obj)._ic_hid, [self.conn.codec._enc(x, refs, depth + 1) for x in tuple.__iter__(obj)]]}
        if isinstance(obj, types.ModuleType):
            return {"mod": obj.__name__}
        if type(obj) is logging.LogRecord:  # to the program's logging.Handler on a logger of the tests: its values
            return {"rec": self.conn.codec._enc(record_values(obj), None, depth + 1)}
        if type(obj) is BoundRemote and is_proxy(obj.target) and obj.target._ic_conn is self.conn:
            return {"bm": [obj.target._ic_hid, str(obj.name)]}  # `bus.subscribe(listener.on_event)`: its method there
        name = by_name(obj)
        if name is not None:
            return {"n": name}
        if type(obj) in (staticmethod, classmethod):  # `monkeypatch.setattr(Clock, "now", staticmethod(fake))`
            inner = self.out(obj.__func__, refs, depth + 1)
            return None if inner is None else {"wrap": [type(obj).__name__, inner]}
        plain = subclass_values.plain_datetime(obj)  # a test's frozen FakeDate.today(): the date it stands for
        if plain is not None:
            return self.conn.codec._enc(plain, refs, depth)
        chain = tests_exception_chain(obj, self.conn)
        if chain is not None:  # an exception class of the tests: the program may catch it (`except AppError`)
            return {"j": id(obj), "exc": chain}
        # (a class with a metaclass of its own, an Enum of the tests, stays a proxy forwarding everything)
        if type(obj) is type and obj.__module__ == TEST_MODULE and not issubclass(obj, BaseException):
            self.conn.judge_objects[id(obj)] = obj  # a class of the tests: a class in the program too
            return {"j": id(obj), "tcls": tests_class_chain(obj, self.conn)}
        if type(obj).__module__ == TEST_MODULE and type(type(obj)) is type and not isinstance(obj, BaseException) \
                and _proxy_kind(obj) is None:  # an object of theirs: of that class in the program
            self.conn.judge_objects[id(obj)] = obj
            return {"j": id(obj), "tc": tests_class_chain(type(obj), self.conn)}
        if _handable(obj):
            jid = id(obj)
            self.conn.judge_objects[jid] = obj
            if not isinstance(obj, types.FunctionType):
                kind = _proxy_kind(obj)
                data = {"j": jid, "kind": kind} if kind else {"j": jid}
                spec = getattr(obj, "_spec_class", None) if isinstance(obj, unittest.mock.NonCallableMock) else None
                if is_proxy(spec) and isinstance(spec, type) and spec._ic_conn is self.conn:
                    data["spec"] = spec._ic_hid  # Mock(spec=Repo): `isinstance(repo, Repo)` in the program too
                return data
            # what functools.wraps copies when the program decorates a test's function
            doc = obj.__doc__ if type(obj.__doc__) is str else None
            return {"j": jid, "fn": [str(obj.__name__)[:200], str(obj.__qualname__)[:400], doc and doc[:4000]]}
        return None

    def back(self, data, refs, depth):
        conn = self.conn
        if "h" in data:
            hid = data["h"]
            known = conn.proxies.get(hid)
            if known is not None:
                if "c" in data:
                    follow_class_change(known, conn.mirror(data["c"]))
                return known
            if "C" in data:
                obj = conn.mirror(data["C"])
            else:
                obj = conn.instance(hid, conn.mirror(data["c"]), data, refs, depth)
                kind = type(obj).__dict__.get("_ic_desc", {})
                if kind.get("module") == "builtins" and kind.get("name") in ("generator", "coroutine",
                                                                            "async_generator"):
                    # a genuine generator (coroutine) here, reading the candidate's lazily (running it there)
                    if kind["name"] == "generator" and data.get("started") is True:
                        obj = pull(obj, started=True)
                        next(obj)  # (asks nothing of the candidate)
                    else:
                        obj = {"generator": pull, "coroutine": awaited, "async_generator": apull}[kind["name"]](obj)
                    conn.wrapped[id(obj)] = hid
            conn.proxies[hid] = obj
            return obj
        if "j" in data:
            return conn.judge_objects[data["j"]]
        if "lib" in data:
            return library_object(data["lib"])
        if "nt" in data:
            cls_key, fields = data["nt"]
            cls = conn.mirror(cls_key)
            if getattr(cls, "_ic_nt", None) is None:
                raise ValueError("malformed namedtuple")
            return cls(*[conn.codec._dec(x, refs, depth + 1) for x in fields])
        raise ValueError("unknown value tag")



_OPERATORS = {"__len__": len, "__iter__": iter, "__next__": next, "__bool__": bool, "__str__": str, "__repr__": repr,
              "__hash__": hash, "__getitem__": lambda o, k: o[k], "__contains__": lambda o, x: x in o,
              "__eq__": lambda o, x: o == x, "__lt__": lambda o, x: o < x, "__le__": lambda o, x: o <= x,
              "__gt__": lambda o, x: o > x, "__ge__": lambda o, x: o >= x, "__reversed__": reversed,
              "__dir__": lambda o: [str(n) for n in dir(o)][:10_000]}
_TEST_OBJECT_OPS = {"__setitem__": lambda o, k, v: o.__setitem__(k, v), "__delitem__": lambda o, k: o.__delitem__(k),
                    "__enter__": lambda o: o.__enter__(), "__exit__": lambda o, *exc: o.__exit__(*exc),
                    "__copy__": copy.copy, "__deepcopy__": copy.deepcopy,
                    "__new__": lambda cls: cls.__new__(cls) if isinstance(cls, type) else None,
                    # arithmetic and conversions of the tests' objects (tests_objects.NUMERIC), as Python does them
                    **{f"__{op}__": getattr(operator, op)
                       for op in ("add", "sub", "mul", "truediv", "floordiv", "mod")},
                    **{f"__r{op}__": lambda o, x, op=op: getattr(operator, op)(x, o)
                       for op in ("add", "sub", "mul", "truediv")},
                    "__neg__": operator.neg, "__pos__": operator.pos, "__abs__": abs, "__int__": int,
                    "__float__": float, "__index__": operator.index, "__format__": format,
                    "__round__": round, "__floor__": math.floor, "__ceil__": math.ceil, "__trunc__": math.trunc,
                    "__fspath__": os.fspath}


def tests_own(target) -> bool:
    """An object or class of the tests (or one of their mocks): the program may use its public attributes."""
    return type(target).__module__ in (TEST_MODULE, "unittest.mock") or type(target) in USER_CONTAINERS or (
        isinstance(target, type) and getattr(target, "__module__", None) == TEST_MODULE)


# What a mock of the tests records and asserts with: the program may read these, never set them or reset the mock
# (`mailer.send.assert_called_once_with = lambda *a: None` would switch the test's assertion off).
_MOCK_OWN = {name for cls in (unittest.mock.MagicMock, unittest.mock.AsyncMock) for klass in cls.__mro__
             for name in vars(klass) if not name.startswith("_")}
_MOCK_CHANGES = {"reset_mock", "configure_mock", "attach_mock", "mock_add_spec"}


_NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_field_defaults", "_make"}  # public, despite the underscore
_READ_ONLY_LIST = {"__len__", "__iter__", "__getitem__", "__contains__", "__eq__", "__reversed__", "__repr__",
                   "__str__", "count", "index", "copy"}


def judge_op(op, target, name, args, kwargs):
    if isinstance(target, unittest.mock.NonCallableMock) and (
            (op == "set" and name in _MOCK_OWN) or (op in ("callm", "get") and name in _MOCK_CHANGES)):
        raise AttributeError(f"the program may not change {name!r} of a mock of the tests")
    if type(target) is unittest.mock._CallList and op in ("set", "get", "callm") and name not in _READ_ONLY_LIST:
        raise AttributeError("the program may not change the calls a mock of the tests recorded")
    own = tests_own(target)
    if op == "call":
        if not callable(target):
            raise TypeError(f"'{type(target).__name__}' object is not callable")
        return target(*args, **kwargs)
    if op == "await" and isinstance(target, types.CoroutineType):
        return run_to_end(target)
    if op == "signature" and (own or isinstance(target, types.FunctionType)):  # (handed over: _handable)
        return signature_data(target)
    if op == "vars" and type(target).__module__ == TEST_MODULE and not isinstance(target, type):
        return {k: v for k, v in vars(target).items() if type(k) is str and not k.startswith("_ic_")}
    if op in ("callm", "get") and name in _GENERATOR_METHODS and isinstance(target, types.GeneratorType):
        member = getattr(target, name)  # a generator of the tests driven as a coroutine (`target.send(x)`)
        return member(*args) if op == "callm" else member
    if op == "callm" and name in _OPERATORS:
        return _OPERATORS[name](target, *args)
    if op == "callm" and name in _TEST_OBJECT_OPS and (own or (
            type(target) in STREAM_TYPES and name in ("__enter__", "__exit__"))):
        return _TEST_OBJECT_OPS[name](target, *args)
    if op in ("callm", "get") and name in (library_members(target) or ()):
        # (a NamedTemporaryFile's wrapper makes a new function for each method read: the file's own method instead)
        owner = target.file if type(target) is tempfile._TemporaryFileWrapper and name != "name" else target
        member = getattr(owner, name)
        return member(*args, **kwargs) if op == "callm" else member
    if op in ("get", "set") and _private_field(target, name):
        # where a descriptor of the program keeps its value, on the tests' object (`setattr(obj, "_qty", v)`): an
        # attribute of the object itself, never one of its class
        if op == "set":
            return setattr(target, name, args[0])
        if name in vars(target):
            return vars(target)[name]
        raise AttributeError(name)
    if (name.startswith("_") and not (name in _NAMEDTUPLE_API and isinstance(target, tuple)
                                      and isinstance(getattr(type(target), "_fields", None), tuple))) or not own:
        raise AttributeError(f"the program may not use attribute {name!r} of a {type(target).__name__} from the tests")
    if op == "callm":
        return getattr(target, name)(*args, **kwargs)
    if op == "get":
        return getattr(target, name)
    if op == "set" and not isinstance(target, type):
        return setattr(target, name, args[0])
    raise AttributeError(f"operation {op!r} is not allowed on objects of the tests")


def _private_field(target, name) -> bool:
    return type(target).__module__ == TEST_MODULE and not isinstance(target, type) and name.startswith("_") \
        and not name.startswith(("__", "_ic_")) and isinstance(getattr(target, "__dict__", None), dict)


def tests_class_chain(cls, conn):
    """[[id, name, qualname, operators], ...] of a class of the tests and its bases of theirs
    (tests_objects.tests_class): the operators are those of FORWARDED (and __call__) the class has."""
    own = [c for c in cls.__mro__ if c.__module__ == TEST_MODULE][:16]
    chain = []
    for c in own:
        conn.judge_objects[id(c)] = c
        dunders = [d for d in (*FORWARDED, *NUMERIC, "__call__") if getattr(c, d, None) is not None
                   and any(d in k.__dict__ for k in c.__mro__ if k is not object)]
        if getattr(c, "__hash__", None) is None:
            dunders.append("nohash")
        chain.append([id(c), c.__name__[:100], c.__qualname__[:200], dunders])
        shape = describe_dataclass(c)
        if shape is not None:  # dataclasses.asdict(their_point) in the program
            chain[-1].append({"dataclass": shape, "match_args": list(getattr(c, "__match_args__", ()))})
    return chain


def tests_exception_chain(cls, conn):
    """[[id, name], ...] of an exception class of the tests and its bases of theirs, then its builtin base's name
    (tests_objects.tests_exception_class); None for any other object."""
    if not (isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == TEST_MODULE):
        return None
    own = [c for c in cls.__mro__ if c.__module__ == TEST_MODULE][:16]
    base = next(c for c in cls.__mro__ if getattr(builtins, c.__name__, None) is c)
    for c in own:
        conn.judge_objects[id(c)] = c
    return [[id(c), c.__name__[:100]] for c in own] + [base.__name__]


def judge_exception(exc, conn=None):
    """An exception of a judge callback, for the program. One of the tests' own classes (`class RateLimited(
    Exception)` raised by a fake client) is also handed over: the program gets an exception of the same name and
    builtin base, reading its public attributes here, and raising it again hands back this very one."""
    hid = exc.__dict__.get("_ic_hid") if isinstance(exc, RemoteException) else None
    if type(hid) is int and conn is not None and exc.__dict__.get("_ic_conn") is conn:
        # the program's own exception, which a test made (`raise RateLimitError(2)` in a fake transport): it is
        # raised there as itself, so `except RateLimitError` in the program catches it
        return {"t": "Exception", "m": str(exc.__dict__.get("_ic_msg", ""))[:2000], "h": hid}
    name = type(exc).__name__
    kind = name if isinstance(getattr(builtins, name, None), type) and type(exc) is getattr(builtins, name) \
        else ("AssertionError" if isinstance(exc, AssertionError) else "Exception")
    try:
        message = str(exc)[:2000]
    except Exception:
        message = ""
    out = {"t": kind, "m": message if kind == name else f"{name}: {message}"}
    args = exc.args if type(exc.args) is tuple else ()
    if kind == name and len(args) <= 8:
        try:  # KeyError("k") stays KeyError("k"), not KeyError("'k'"); KeyError((1, 1)) keeps its tuple
            values = [wire.encode_value(a) for a in args]
            if len(json.dumps(values)) <= 4000:
                out["va"] = values
        except (TypeError, ValueError, RecursionError):
            pass
        if conn is not None and isinstance(exc, Exception):  # raised on out of the program: this very one again
            conn.judge_objects[id(exc)] = exc
            out["bj"] = id(exc)
    if conn is not None and kind != name and isinstance(exc, Exception) and not isinstance(exc, AssertionError):
        base = next(c for c in type(exc).__mro__ if getattr(builtins, c.__name__, None) is c)
        conn.judge_objects[id(exc)] = exc
        out.update(j=id(exc), n=name[:200], b=base.__name__, a=message)
        chain = tests_exception_chain(type(exc), conn)
        if chain is not None:
            out["c"] = chain
    return out

