"""Proxies for the candidate's objects, as the tests in the judge see them.

A candidate class becomes a mirror class here, built from the description the candidate sends (remote.py builds
it): isinstance, issubclass and `except TheirError` then use the judge's own type machinery, never a candidate
metaclass. Attributes and methods are fetched from the candidate; whether two objects are equal or ordered is
decided by the connection's policy (remote.py), never by the candidate's own __eq__.
"""

from __future__ import annotations

import types
import unittest.mock

from .live import live_classes

TEST_MODULE = "__tests__"  # __name__ of the tests' namespace: classes the tests define carry it
TEST_FILE = "<tests>"
MAX_NESTING = 300  # calls between judge and candidate nested inside each other (a memoized recursion of 120)
MAX_OUTPUT = 16 * 1024  # bytes of the candidate's stdout/stderr kept for the report


class Deadline(BaseException):
    """The job's (or one input's) time ran out. BaseException: tests cannot swallow it."""


class CandidateGone(BaseException):
    """The candidate process died or broke the protocol."""


class Unsupported(BaseException):
    """The tests used something the judge cannot decide without trusting the candidate; the text names it."""


class CandidateError(Exception):
    """An exception of the candidate that cannot be rebuilt here (KeyboardInterrupt, GeneratorExit...)."""


UNSAFE_EXCEPTIONS = {"BaseException", "KeyboardInterrupt", "GeneratorExit", "BaseExceptionGroup"}
GENUINE_TYPES = {"int", "float", "complex", "str", "bytes", "bytearray", "bool", "list", "tuple", "dict", "set",
                  "frozenset", "object", "range", "type", "slice", "memoryview", "property", "staticmethod",
                  "classmethod", "NoneType"}
DUNDER_OPS = {  # dunders a proxy forwards when the candidate's class has them (comparisons are policy, below)
    "__len__", "__iter__", "__next__", "__reversed__", "__getitem__", "__setitem__", "__delitem__", "__contains__",
    "__bool__", "__call__", "__enter__", "__exit__", "__int__", "__float__", "__complex__", "__index__",
    "__round__", "__trunc__", "__floor__", "__ceil__", "__format__", "__bytes__", "__fspath__", "__length_hint__",
    "__neg__", "__pos__", "__abs__", "__invert__", "__aenter__", "__aexit__", "__aiter__", "__anext__",
    "__get__", "__set__", "__delete__", "__set_name__",  # the program's descriptors, in a class of the tests
    *(f"__{p}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod", "pow",
                                 "lshift", "rshift", "and", "or", "xor") for p in ("", "r", "i")),
}
_LOCAL_ONLY = ("_ic_", "_pytest", "__")  # attribute names never asked of the candidate


DATA_DUNDERS = {"__name__", "__qualname__", "__annotations__", "__defaults__", "__kwdefaults__", "__all__",
                 "__version__", "__slots__", "__dict__", "__author__", "__license__", "__email__", "__copyright__",
                 "__status__", "__credits__", "__maintainer__", "__date__", "__tablename__",
                 "__members__"}  # plain data: asked of the candidate like any attribute


def mirrored_name(name: str) -> bool:
    return name in DATA_DUNDERS or (not name.startswith(_LOCAL_ONLY) and name != "pytestmark")


# ---------------------------------------------------------------------------------------------------------------
# Proxies.


_ABSENT = object()  # an attribute a mirror class did not have


class RemoteClass(type):
    """Metaclass of mirror classes: calling one constructs in the candidate; class attributes are fetched there."""

    def __new__(mcs, name, bases, ns, /, **kwargs):
        cls = super().__new__(mcs, name, bases, ns)
        if kwargs:  # `class Xml(Plugin, name="xml")` in the tests: for the program's __init_subclass__
            type.__setattr__(cls, "_ic_class_kwargs", kwargs)
        return cls

    def __init__(cls, name, bases, ns, /, **kwargs):
        super().__init__(name, bases, ns)
        if "_ic_desc" not in ns and any(b.__dict__.get("_ic_desc", {}).get("init_subclass") for b in bases
                                        if isinstance(b, RemoteClass)):
            cls._ic_conn.adopt_subclass(cls, eager=True)  # the program's registry sees the tests' class now

    def __call__(cls, *args, **kwargs):
        if "_ic_desc" not in cls.__dict__:  # a class of the tests deriving from the program's class
            cls._ic_conn.adopt_subclass(cls)
        return cls._ic_conn.call(cls, args, kwargs)

    def __instancecheck__(cls, obj):
        if type.__instancecheck__(cls, obj):
            return True
        # an object whose value or contents could not cross has a twin of its class without the value type
        # (mirrors.py): it is still an instance of the class and of its bases
        twin_of = type(obj).__dict__.get("_ic_twin_of")
        if twin_of is not None and type.__subclasscheck__(cls, twin_of):
            return True
        members = cls.__dict__.get("_ic_desc", {}).get("protocol")
        if type(members) is list and members and all(type(m) is str for m in members):
            # a runtime_checkable Protocol of the program: checked here, by its members, as typing does; one that
            # any object satisfies says nothing (the program's own metaclass or hook never decides a verdict)
            plain = object()
            if all(hasattr(plain, m) for m in members):
                return False
            return all(hasattr(obj, m) for m in members)
        return False

    def __getattr__(cls, name):
        if not mirrored_name(name):
            raise AttributeError(name)
        return cls._ic_conn.get(cls, name)

    def __setattr__(cls, name, value):
        """monkeypatch.setattr(TheirClass, "rate", fake) and mock.patch.object: the program's class gets it too (a
        function of the tests binds there as a method); setting back what the mirror had restores the program's own."""
        mirrored = "_ic_desc" in cls.__dict__ and (not name.startswith(_LOCAL_ONLY) or name == "__init__")
        if mirrored:
            originals = cls.__dict__.get("_ic_patched")
            if originals is None:
                originals = {}
                type.__setattr__(cls, "_ic_patched", originals)
            original = originals.setdefault(name, cls.__dict__.get(name, _ABSENT))
            msg = {"op": "patch_class", "t": {"h": cls._ic_hid}, "n": name}
            if value is original:
                cls._ic_conn.request({**msg, "restore": True})
            else:
                if isinstance(value, unittest.mock.PropertyMock):  # a property there too: reading it calls the mock
                    msg["property"] = True
                cls._ic_conn.request({**msg, "a": [cls._ic_conn.encode_handed(value)]})
            if not (callable(value) or hasattr(type(value), "__get__")):
                # a plain value (`Widget.count = 0` in a fixture): the program may change it, so it is read from the
                # program's class from now on, never from a copy here
                if name in cls.__dict__:
                    type.__delattr__(cls, name)
                return
        type.__setattr__(cls, name, value)

    def __delattr__(cls, name):
        """monkeypatch's undo of an attribute the mirror did not hold: the program's class gets its own back."""
        originals = cls.__dict__.get("_ic_patched") or {}
        if originals.get(name) is _ABSENT:
            cls._ic_conn.request({"op": "patch_class", "t": {"h": cls._ic_hid}, "n": name, "restore": True})
        if name in cls.__dict__ or not originals:  # (a plain value patched in was never held here)
            type.__delattr__(cls, name)

    @property
    def __signature__(cls):  # inspect.signature(TheirClass): the parameters of its constructor
        if "_ic_desc" not in cls.__dict__:
            raise AttributeError("__signature__")
        return cls._ic_conn.signature(cls)


class RemoteContainerClass(RemoteClass):
    """For classes whose own metaclass makes them containers (enums: `list(Color)`, `Color["RED"]`)."""

    def __iter__(cls):
        return cls._ic_conn.callm(cls, "__iter__", ())

    def __len__(cls):
        return cls._ic_conn.callm(cls, "__len__", ())

    def __contains__(cls, item):
        return bool(cls._ic_conn.callm(cls, "__contains__", (item,)))

    def __getitem__(cls, key):
        return cls._ic_conn.callm(cls, "__getitem__", (key,))


class RemoteObject:
    """A candidate object. Attributes and methods are fetched from the candidate; comparisons follow the policy."""

    def __getattr__(self, name):
        if not mirrored_name(name):
            raise AttributeError(name)
        return self._ic_conn.get(self, name)

    def __setattr__(self, name, value):
        if name.startswith("_ic_") or name.startswith("__"):
            object.__setattr__(self, name, value)
        elif type(value) is BoundRemote and value.target is self and value.name == name:
            # monkeypatch's undo of setattr(obj, "fetch", fake) sets back the method it read: the class's again
            self._ic_conn.request({"op": "set", "t": self._ic_conn._target(self), "n": name, "own": True, "a": []})
        else:
            self._ic_conn.set(self, name, value)

    def __delattr__(self, name):
        self._ic_conn.callm(self, "__delattr__", (name,))

    def __eq__(self, other):
        return self._ic_conn.eq(self, other)

    def __ne__(self, other):
        result = self._ic_conn.eq(self, other)
        return result if result is NotImplemented else not result

    def __lt__(self, other):
        return self._ic_conn.order(self, other, "<")

    def __le__(self, other):
        return self._ic_conn.order(self, other, "<=")

    def __gt__(self, other):
        return self._ic_conn.order(self, other, ">")

    def __ge__(self, other):
        return self._ic_conn.order(self, other, ">=")

    def __hash__(self):
        return self._ic_conn.hash(self)

    def __copy__(self):
        return self._ic_conn.request({"op": "copy", "t": self._ic_conn.codec.encode(self), "n": "copy"})

    def __deepcopy__(self, memo):
        return self._ic_conn.request({"op": "copy", "t": self._ic_conn.codec.encode(self), "n": "deepcopy"})

    def __reduce_ex__(self, protocol):  # pickle.dumps: the program pickles its object (pickling.py)
        from .pickling import reduce_program_object

        return reduce_program_object(self, protocol)

    def __repr__(self):
        return self._ic_conn.text(self, "__repr__")

    def __str__(self):
        return self._ic_conn.text(self, "__str__")

    def __dir__(self):
        return sorted(set(type(self)._ic_desc.get("methods", ())))

    @property
    def __dict__(self):  # vars(obj), obj.__dict__: the candidate object's attributes (its own dict, kept live)
        return self._ic_conn.get(self, "__dict__")

    @property
    def __signature__(self):  # inspect.signature(f) of the program's function: its own parameters
        return self._ic_conn.signature(self)

    def _ic_is_function(self):
        desc = type(self)._ic_desc
        return desc.get("name") == "function" and desc.get("module") == "builtins"

    @property
    def __code__(self):  # inspect.isgeneratorfunction(f), inspect.iscoroutinefunction(f) of the program's function
        if not self._ic_is_function():
            raise AttributeError("__code__")
        return self._ic_conn.code(self)

    @property
    def __wrapped__(self):
        # The program's own (functools.wraps, lru_cache: `fib.__wrapped__(10)` calls the undecorated function). A
        # function without one is what inspect.unwrap gives: a function to inspect, with its own __code__.
        return self._ic_conn.get(self, "__wrapped__")


class RemoteException(RemoteObject):
    """Mixed into mirrors of the candidate's exception classes: the message is the one the candidate had."""

    __dict__ = BaseException.__dict__["__dict__"]  # the exception's own (pytest and tracebacks keep state there)

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)  # pytest and the traceback machinery set attributes locally

    def __str__(self):
        return self.__dict__.get("_ic_msg", "")

    def __repr__(self):  # Python's own (the class and its arguments), unless the program's class has its own
        if type(self).__dict__.get("_ic_desc", {}).get("own_repr"):
            return RemoteObject.__repr__(self)
        return BaseException.__repr__(self)

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__


class RemoteMember:
    """A method of a mirror class: `obj.name(...)` is one round trip. Reached from a method of a test class deriving
    from the program's class, past that class's own `name` (`super().name()`, `super().__init__()`), it runs the
    program class's own `name` on the object, as super() does."""

    def __init__(self, name):
        self.name = name
        self.owner = None

    def __set_name__(self, owner, name):
        self.owner = owner

    def __get__(self, obj, cls=None):
        if obj is not None and self.owner is not None and (self.name == "__init__" or _past_the_tests(
                type(obj), self.owner, self.name)):
            return BoundSuper(obj, self.owner, self.name)
        return BoundRemote(cls if obj is None else obj, self.name)

    # What the class's namespace holds, as mock.patch.object reads it (`Service.__dict__["fetch"]`): a function,
    # callable with the object first, whose signature autospec copies.
    @property
    def __class__(self):
        return types.FunctionType if self.owner is not None else RemoteMember

    def __call__(self, *args, **kwargs):
        return BoundRemote(self.owner, self.name)(*args, **kwargs)

    @property
    def __signature__(self):
        return BoundRemote(self.owner, self.name).__signature__

    def __getattr__(self, name):
        if (name in ("__name__", "__qualname__") or name in _FUNCTION_DATA) and self.owner is not None:
            return getattr(BoundRemote(self.owner, self.name), name)
        raise AttributeError(name)


def _past_the_tests(cls, owner, name) -> bool:
    """Whether a test class before `owner` in cls's MRO defines `name` (so that a plain lookup stopped there)."""
    for klass in cls.__mro__:
        if klass is owner:
            return False
        if name in klass.__dict__ and klass.__module__ == TEST_MODULE:
            return True
    return False


_FUNCTION_DATA = ("__code__", "__defaults__", "__kwdefaults__", "__annotations__", "__module__", "__wrapped__")


class BoundSuper:
    __slots__ = ("target", "owner", "name")

    def __init__(self, target, owner, name):
        self.target, self.owner, self.name = target, owner, name

    def __call__(self, *args, **kwargs):
        return _conn_of(self.target).call_unbound(self.owner, self.name, self.target, args, kwargs)


class BoundRemote:
    __slots__ = ("target", "name")

    def __init__(self, target, name):
        self.target, self.name = target, name

    def __call__(self, *args, **kwargs):
        return _conn_of(self.target).callm(self.target, self.name, args, kwargs)

    # Read on the class (`Service.fetch`), a method is a plain function, as in Python: mock.patch.object(Service,
    # "fetch", autospec=True) copies its signature, self included.
    @property
    def __class__(self):  # (a classmethod or a builtin's slot is not a function: inspect would read its __code__)
        on_class = isinstance(self.target, RemoteClass)
        if self.name in getattr(self.target if on_class else type(self.target), "_ic_desc", {}).get("functions", ()):
            return types.FunctionType if on_class else types.MethodType
        return BoundRemote

    @property
    def __signature__(self):
        if not isinstance(self.target, RemoteClass):
            raise AttributeError("__signature__")
        return _conn_of(self.target).signature(_conn_of(self.target).get(self.target, self.name))

    @property
    def __doc__(self):  # `Stack.push.__doc__`, inspect.getdoc: the program's method's own
        return getattr(_conn_of(self.target).get(self.target, self.name), "__doc__", None)

    @property
    def __module__(self):  # "solution", as its function's (`inspect.getmembers` filtered by module)
        module = getattr(_conn_of(self.target).get(self.target, self.name), "__module__", None)
        return module if type(module) is str else None

    def __get__(self, obj, cls=None):  # read on the class, it is a function: binding it gives the method
        if obj is None or not isinstance(self.target, RemoteClass):
            return self
        return BoundRemote(obj, self.name)

    def __getattr__(self, name):  # __name__ and __qualname__, as a function has them (a class body cannot say so)
        if name == "__name__":
            return self.name
        if name == "__qualname__":
            owner = self.target if isinstance(self.target, RemoteClass) else type(self.target)
            return f"{owner.__name__}.{self.name}"
        if name in _FUNCTION_DATA and isinstance(self.target, RemoteClass):  # the program's function's own
            return getattr(_conn_of(self.target).get(self.target, self.name), name)
        if self.__class__ is types.MethodType and name in ("__self__", "__func__"):  # a bound method's
            return self.target if name == "__self__" else BoundRemote(type(self.target), self.name)
        raise AttributeError(name)

    def __repr__(self):
        return f"<method {self.name} of {type(self.target).__name__}>"


def is_proxy(obj) -> bool:
    """Whether obj stands for something of the program (a proxy or a mirror class), by its real type: a mock made
    with spec= one claims its class as __class__, which isinstance believes."""
    return issubclass(type(obj), (RemoteObject, RemoteClass))


def _conn_of(target):
    return target._ic_conn


def forwarder(name):
    if name == "__call__":
        def forward(self, *args, **kwargs):
            return self._ic_conn.call(self, args, kwargs)
    elif name in ("__exit__", "__aexit__"):
        def forward(self, *args):
            if args[0] is None:
                return self._ic_conn.callm(self, name, (None, None, None))
            # the exception the with block raised, described (never the tests' own object, nor its traceback): the
            # program's __exit__ may suppress it (a true result), handle it, or raise another; __aexit__'s
            # coroutine comes back awaitable
            conn = self._ic_conn
            return conn.request({"op": "exit", "t": conn._target(self), "e": conn.judge_exception(args[1]),
                                 "n": name})
    else:
        def forward(self, *args, **kwargs):
            return self._ic_conn.callm(self, name, args, kwargs)
    forward.__name__ = name
    return forward


# ---------------------------------------------------------------------------------------------------------------
# Containers read from a candidate object's attribute: a genuine list/dict/set here (a copy, compared as Python
# compares it) that also applies the tests' changes to the candidate's own container, as `cart.items.append(x)`
# does in one process.


def _send_to_program(obj, name, args, kwargs):
    conn, hid = obj.__dict__["_ic_live"]
    conn.callm({"h": hid}, name, args, kwargs)


LIVE = live_classes(_send_to_program, "Live")


LIVE_TYPES = tuple(LIVE.values())
