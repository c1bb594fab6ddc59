"""What the tests hand the program, as the program sees it (in the candidate process): a proxy per object of the
tests (a callback, their own object, an iterator, a Mapping of theirs, a coroutine), whose every use is a request
to the judge, which decides what the program may do with it (handover.py); and the exceptions the tests raise at
the program, rebuilt here.
"""

from __future__ import annotations

import builtins
import collections.abc
import types

from .codec import decode_value
from .dataclass_shape import dataclass_members
from .live import live_classes
from .signatures import signature_from_data


class JudgeObject:
    """A judge object the tests handed over: its attributes are read and set on their side."""

    __slots__ = ("_jid", "_side")

    def __init__(self, side, jid):
        object.__setattr__(self, "_jid", jid)
        object.__setattr__(self, "_side", side)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_jid", "_side"):  # (unset: made by object.__new__, not by the tests)
            raise AttributeError(name)
        return self._side.request({"op": "get", "t": {"j": self._jid}, "n": name})

    def __setattr__(self, name, value):
        self._side.request_args("set", self, [value], {}, n=name)

    def __repr__(self):
        return self._side.request_args("callm", self, (), {}, m="__repr__")

    def __dir__(self):  # their names (`do_*` commands found by dir)
        names = self._side.request_args("callm", self, (), {}, m="__dir__")
        return [n for n in names if type(n) is str] if type(names) is list else []

    # copy.copy and copy.deepcopy of the tests' object (a snapshot the program keeps): made by the tests' side, a new
    # object of theirs. Pickling it any other way would make a proxy without its connection.
    def __copy__(self):
        return self._side.request_args("callm", self, (), {}, m="__copy__")

    def __deepcopy__(self, memo):
        return self._side.request_args("callm", self, (), {}, m="__deepcopy__")

    def __reduce_ex__(self, protocol):
        raise TypeError("an object of the tests cannot be pickled by the program")


class JudgeProxy(JudgeObject):
    """A callback, an iterator, or an object of the tests, with every operator forwarded (below)."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._side.request_args("call", self, args, kwargs)


class JudgeFunction(JudgeProxy):
    # A function of the tests. Set on a class of the program (a method the tests patched), it binds to the
    # instance as a function does. It carries the name and docstring that functools.wraps copies.

    __slots__ = ("__name__", "__qualname__", "_doc")

    def __init__(self, side, jid, name="function", qualname="function", doc=None):
        super().__init__(side, jid)
        for slot, value in (("__name__", name), ("__qualname__", qualname), ("_doc", doc)):
            object.__setattr__(self, slot, value)

    @property
    def __doc__(self):
        return self._doc

    @property
    def __signature__(self):  # inspect.signature(fn) in the program (a decorator, an injector)
        return signature_from_data(self._side.request({"op": "signature", "t": {"j": self._jid}}))

    @property
    def __annotations__(self):  # a type-checking decorator of the program reads them
        sig = self.__signature__
        hints = {p.name: p.annotation for p in sig.parameters.values() if p.annotation is not p.empty}
        if sig.return_annotation is not sig.empty:
            hints["return"] = sig.return_annotation
        return hints

    def __get__(self, instance, owner=None):
        return self if instance is None else types.MethodType(self, instance)


def _proxy_dunder(name):
    def forward(self, *args):
        return self._side.request_args("callm", self, args, {}, m=name)
    return forward


FORWARDED = ("__len__", "__iter__", "__next__", "__getitem__", "__setitem__", "__delitem__", "__contains__",
             "__bool__", "__str__", "__eq__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__reversed__",
             "__enter__", "__exit__")
for _name in FORWARDED:
    setattr(JudgeProxy, _name, _proxy_dunder(_name))
# and, on the classes standing for the tests' own (below), where their class has them: arithmetic and conversions
# (`sum(prices)` of their Money objects, `f"{cell:>5}"`)
NUMERIC = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
           "__floordiv__", "__mod__", "__neg__", "__pos__", "__abs__", "__int__", "__float__", "__index__",
           "__format__", "__round__", "__floor__", "__ceil__", "__trunc__", "__fspath__")


TESTS_CLASSES = {}  # id of a class of the tests (in the judge) -> the class standing for it here


def _attributes(self):
    """vars(obj) of an object of the tests: a copy of its attributes (what the program writes into it is lost)."""
    return self._side.request({"op": "vars", "t": {"j": self._jid}})


def _new(cls, *args, **kwargs):
    """`cls.__new__(cls)` of a class of the tests (a `from_dict` that fills a blank object): made there, no __init__."""
    return cls._ic_side.request_args("callm", cls._ic_proxy, (), {}, m="__new__")


class _TestsClassMeta(type):
    def __call__(cls, *args, **kwargs):  # `kind()` in the program: an object of the tests' class, made there
        return cls._ic_side.request_args("call", cls._ic_proxy, args, kwargs)

    @property
    def __signature__(cls):  # inspect.signature(TheirClass): its constructor's parameters
        return signature_from_data(cls._ic_side.request({"op": "signature", "t": {"j": cls._ic_class_jid}}))

    def __getattr__(cls, name):  # class attributes and methods (`FrozenDate.today()`), read there
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(cls.__dict__["_ic_proxy"], name)


def tests_class(side, chain):
    """The class standing here for a class of the tests (`of_type(items, Dog)`, `type(x).__name__`): chain is
    [[id, name, qualname, dunders], ...] of the class and its bases of theirs. Its objects are proxies with the
    operators their class has, and no others (callable(), Iterable and Hashable say what they would say there)."""
    if type(chain) is not list or not 1 <= len(chain) <= 16 or not all(
            type(c) is list and len(c) in (4, 5) and type(c[0]) is int and type(c[1]) is str and type(c[2]) is str
            and type(c[3]) is list and all(d in FORWARDED + NUMERIC + ("__call__", "nohash") for d in c[3])
            for c in chain):
        raise ValueError("malformed class of the tests")
    parent = JudgeObject
    for jid, name, qualname, dunders, *shape in reversed(chain):  # the tests' outermost base first
        cls = TESTS_CLASSES.get(jid)
        if cls is None:
            members = {"__slots__": (), "__module__": "tests", "__qualname__": qualname[:200], "_ic_side": side,
                       "_ic_proxy": JudgeProxy(side, jid), "_ic_class_jid": jid, "__dict__": property(_attributes),
                       "__new__": _new}
            for dunder in dunders:
                if dunder != "nohash":
                    members[dunder] = JudgeProxy.__call__ if dunder == "__call__" else _proxy_dunder(dunder)
            if "nohash" in dunders or ("__eq__" in dunders and "__hash__" not in dunders):
                members["__hash__"] = None  # as Python makes it
            if shape and type(shape[0]) is dict:  # a dataclass of theirs: fields, asdict, replace work here
                members.update(dataclass_members(shape[0]))
            cls = TESTS_CLASSES[jid] = _TestsClassMeta(name[:100], (parent,), members)
        parent = cls
    return parent


def _container_proxy(abc, extra=()):
    """A proxy that is what the tests' object is, to isinstance (a Mapping of the tests: the program checks
    `isinstance(config, Mapping)`, then reads it with `dict(config)` or `.items()`, the ABC's own methods)."""
    members = {"__slots__": ()}
    for name in extra:  # abstract methods of the ABC that the proxy does not forward already
        members[name] = lambda self, *args, _name=name: self._side.request_args("callm", self, args, {}, m=_name)
    return type(f"Judge{abc.__name__}", (JudgeProxy, abc), members)


class JudgeAwaitable(JudgeProxy):
    """A coroutine of the tests (their async fake): awaiting it runs it to its end on their side."""

    __slots__ = ()

    def __await__(self):
        return self._side.request({"op": "await", "t": {"j": self._jid}})
        yield  # a generator: the await completes without suspending the program's loop


class JudgePlainObject(JudgeObject):
    """A bare `object()` of the tests (a sentinel the program must hand back as it is)."""

    __slots__ = ()


JudgePlainObject.__name__ = JudgePlainObject.__qualname__ = "object"

JUDGE_KINDS = {"Awaitable": JudgeAwaitable,
               "object": JudgePlainObject,
               "Mapping": _container_proxy(collections.abc.Mapping),
               "MutableMapping": _container_proxy(collections.abc.MutableMapping),
               "Sequence": _container_proxy(collections.abc.Sequence),
               "MutableSequence": _container_proxy(collections.abc.MutableSequence, ("insert",)),
               "Set": _container_proxy(collections.abc.Set),
               "MutableSet": _container_proxy(collections.abc.MutableSet, ("add", "discard"))}


_SPECCED: dict = {}  # (proxy kind, the program's class) -> the kind claiming that class


def specced(kind, cls):
    """The proxy class for a mock of the tests specced by a class of the program (`Mock(spec=Repo)`): as in one
    process, its `__class__` is that class, so the program's `isinstance(repo, Repo)` holds."""
    key = (kind, cls)
    if key not in _SPECCED:
        _SPECCED[key] = type(kind.__name__, (kind,), {"__slots__": (), "__class__": property(lambda self, c=cls: c)})
    return _SPECCED[key]


TESTS_EXCEPTION_CLASSES = {}  # (name, builtin base) -> the class standing for an exception class of the tests


def exception_from_judge(side, desc):
    """The exception the judge described (handover.judge_exception): a callback of the tests raised it, the tests
    threw it into a generator, or a with block of theirs raised it in the program's context manager."""
    if "j" in desc:
        return _tests_exception(side, desc)
    own = side.handles.get(desc.get("h")) if type(desc.get("h")) is int else None
    if isinstance(own, BaseException):  # an exception of the program's class that a test made
        return own
    cls = getattr(builtins, str(desc.get("t")), None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = Exception
    err = None
    if type(desc.get("va")) is list and cls is not Exception:
        try:
            err = cls(*[decode_value(a) for a in desc["va"]])
        except Exception:
            pass
    if err is None:
        err = cls(str(desc.get("m", "")))
    if type(desc.get("bj")) is int:
        err._ic_jid = desc["bj"]  # raised on out of the program, it is the tests' own again
    return err


def _tests_exception(side, desc):
    """An exception of the tests' own class, raised in a callback: one of the same name and builtin base here, so
    `except ValueError` catches a ValueError subclass of theirs; its public attributes are read from theirs, and
    raising it out of the program hands back the tests' own exception."""
    name, base = str(desc.get("n", "Exception")), getattr(builtins, str(desc.get("b")), None)
    jid = desc["j"]
    if not (isinstance(base, type) and issubclass(base, Exception)) or type(jid) is not int:
        return Exception(str(desc.get("m", "")))
    cls = tests_exception_class(side, desc["c"]) if "c" in desc else TESTS_EXCEPTION_CLASSES.get((name, base))
    if cls is None:
        def __getattr__(self, attr):
            if attr.startswith("_"):
                raise AttributeError(attr)
            return side.request({"op": "get", "t": {"j": self._ic_jid}, "n": attr})
        cls = TESTS_EXCEPTION_CLASSES[(name, base)] = type(name, (base,), {"__getattr__": __getattr__,
                                                                            "__module__": "tests"})
    try:
        err = cls(str(desc.get("a", "")))
    except Exception:  # a base whose constructor wants more (UnicodeDecodeError)
        return Exception(str(desc.get("m", "")))
    err._ic_jid = jid
    return err


def tests_exception_class(side, chain):
    """The class standing here for an exception class of the tests, handed over (`retry(f, on=(AppError,))`) or
    raised: `chain` is [[id, name], ...] of the class and its bases of the tests, then its builtin base's name. Each
    class of the tests has one stand-in, deriving from its base's, so `except AppError` in the program catches the
    tests' SubError."""
    if type(chain) is not list or not 1 <= len(chain) <= 17 or type(chain[-1]) is not str or not all(
            type(link) is list and len(link) == 2 and type(link[0]) is int and type(link[1]) is str
            for link in chain[:-1]):
        raise ValueError("malformed exception class")
    parent = getattr(builtins, chain[-1], None)
    if not (isinstance(parent, type) and issubclass(parent, Exception)):
        parent = Exception
    for jid, name in reversed(chain[:-1]):  # the tests' outermost base first
        cls = TESTS_EXCEPTION_CLASSES.get(("class", jid))
        if cls is None:
            def __getattr__(self, attr):
                if attr.startswith("_") or type(self.__dict__.get("_ic_jid")) is not int:
                    raise AttributeError(attr)
                return side.request({"op": "get", "t": {"j": self._ic_jid}, "n": attr})
            cls = TESTS_EXCEPTION_CLASSES[("class", jid)] = type(name[:100], (parent,), {
                "__getattr__": __getattr__, "__module__": "tests", "_ic_class_jid": jid})
        parent = cls
    return parent


# Lists, dicts and sets read from an attribute of the tests' object (`node.neighbors`): the program's changes to its
# copy are made to theirs too (live.py)
def _send_to_tests(obj, name, args, kwargs):
    side, jid = obj.__dict__["_ic_tests"]
    side.request_on(jid, "callm", args, kwargs, m=name)


TESTS_LIVE = live_classes(_send_to_tests, "Tests")
TESTS_LIVE_TYPES = tuple(TESTS_LIVE.values())
