"""The judge's side of the boundary: proxies for the candidate's objects and the connection that carries calls.

What keeps the verdict the judge's own:
- nothing of the candidate runs here: what comes back is a genuine value (codec) or a proxy;
- a proxy's class is built here from the description the candidate sends (a mirror class), so isinstance,
  issubclass and `except TheirError` use the judge's own type machinery, never a candidate metaclass;
- whether two candidate objects are equal or ordered is decided here: identity, dataclass fields, enum members;
  where only the candidate's own __eq__/__lt__ could decide, the job ends as `unsupported` (Unsupported);
- the candidate reaches judge objects only through handles with a short list of operations: calling the tests'
  functions, public attributes of the tests' own objects, iteration. Library functions and modules go over by
  name (the candidate gets its own copy); anything else cannot be handed over.
"""

from __future__ import annotations

import builtins
import codecs
import collections
import importlib
import itertools
import os
import select
import struct
import sys
import time
import types
import unittest

from . import codec as wire

TEST_MODULE = "__tests__"  # __name__ of the tests' namespace: classes the tests define carry it
TEST_FILE = "<tests>"
MAX_NESTING = 100  # calls between judge and candidate nested inside each other
MAX_OUTPUT = 16 * 1024  # bytes of the candidate's stdout/stderr kept for the report


class Deadline(BaseException):
    """The job's (or one input's) time ran out. BaseException: tests cannot swallow it."""


class CandidateGone(BaseException):
    """The candidate process died or broke the protocol."""


class Unsupported(BaseException):
    """The tests used something the judge cannot decide without trusting the candidate; the text names it."""


class CandidateError(Exception):
    """An exception of the candidate that cannot be rebuilt here (KeyboardInterrupt, GeneratorExit...)."""


_UNSAFE_EXCEPTIONS = {"BaseException", "KeyboardInterrupt", "GeneratorExit", "BaseExceptionGroup"}
_GENUINE_TYPES = {"int", "float", "complex", "str", "bytes", "bytearray", "bool", "list", "tuple", "dict", "set",
                  "frozenset", "object", "range", "type", "slice", "memoryview", "property", "staticmethod",
                  "classmethod", "NoneType"}
_DUNDER_OPS = {  # dunders a proxy forwards when the candidate's class has them (comparisons are policy, below)
    "__len__", "__iter__", "__next__", "__reversed__", "__getitem__", "__setitem__", "__delitem__", "__contains__",
    "__bool__", "__call__", "__enter__", "__exit__", "__int__", "__float__", "__complex__", "__index__",
    "__round__", "__trunc__", "__floor__", "__ceil__", "__format__", "__bytes__", "__fspath__", "__length_hint__",
    "__neg__", "__pos__", "__abs__", "__invert__",
    *(f"__{p}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod", "pow",
                                 "lshift", "rshift", "and", "or", "xor") for p in ("", "r", "i")),
}
_LOCAL_ONLY = ("_ic_", "_pytest", "__")  # attribute names never asked of the candidate


def _mirror_attrs(name: str) -> bool:
    return not name.startswith(_LOCAL_ONLY) and name != "pytestmark"


# ---------------------------------------------------------------------------------------------------------------
# Proxies.


class RemoteClass(type):
    """Metaclass of mirror classes: calling one constructs in the candidate; class attributes are fetched there."""

    def __call__(cls, *args, **kwargs):
        return cls._ic_conn.call(cls, args, kwargs)

    def __getattr__(cls, name):
        if not _mirror_attrs(name):
            raise AttributeError(name)
        return cls._ic_conn.get(cls, name)



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
        if not _mirror_attrs(name):
            raise AttributeError(name)
        return self._ic_conn.get(self, name)

    def __setattr__(self, name, value):
        if name.startswith("_ic_") or name.startswith("__"):
            object.__setattr__(self, name, value)
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

    def __repr__(self):
        return self._ic_conn.text(self, "__repr__")

    def __str__(self):
        return self._ic_conn.text(self, "__str__")

    def __dir__(self):
        return sorted(set(type(self)._ic_desc.get("methods", ())))


class RemoteException(RemoteObject):
    """Mixed into mirrors of the candidate's exception classes: the message is the one the candidate had."""

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)  # pytest and the traceback machinery set attributes locally

    def __str__(self):
        return self.__dict__.get("_ic_msg", "")

    def __repr__(self):
        return f"{type(self).__name__}({self.__dict__.get('_ic_msg', '')!r})"

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__


class RemoteMember:
    """A method of a mirror class: `obj.name(...)` is one round trip."""

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, cls=None):
        return BoundRemote(cls if obj is None else obj, self.name)


class BoundRemote:
    __slots__ = ("target", "name")

    def __init__(self, target, name):
        self.target, self.name = target, name

    def __call__(self, *args, **kwargs):
        return _conn_of(self.target).callm(self.target, self.name, args, kwargs)

    def __repr__(self):
        return f"<method {self.name} of {type(self.target).__name__}>"


def _pull(proxy):
    """A judge generator over a candidate generator: isinstance(g, GeneratorType) holds, items come one by one."""
    sent = None
    while True:
        try:
            item = next(proxy) if sent is None else proxy._ic_conn.callm(proxy, "send", (sent,))
        except StopIteration as stop:
            return stop.value
        sent = yield item


def _conn_of(target):
    return target._ic_conn


def _forwarder(name):
    if name == "__call__":
        def forward(self, *args, **kwargs):
            return self._ic_conn.call(self, args, kwargs)
    elif name == "__exit__":
        def forward(self, *args):
            return self._ic_conn.callm(self, name, (None, None, None) if args[0] is None else
                                       (None, args[1] if isinstance(args[1], RemoteObject) else None, None))
    else:
        def forward(self, *args, **kwargs):
            return self._ic_conn.callm(self, name, args, kwargs)
    forward.__name__ = name
    return forward


# ---------------------------------------------------------------------------------------------------------------
# Containers read from a candidate object's attribute: a genuine list/dict/set here (a copy, compared as Python
# compares it) that also applies the tests' changes to the candidate's own container, as `cart.items.append(x)`
# does in one process.


def _live(base, name, remote=None, result_arg=False):
    local = getattr(base, name)

    def method(self, *args, **kwargs):
        result = local(self, *args, **kwargs)
        conn, hid = self.__dict__["_ic_live"]
        if result_arg:  # set.pop / dict.popitem: remove exactly what was removed here
            args = (result if base is set else result[0],)
        conn.callm({"h": hid}, remote or name, args, kwargs)
        return self if name.startswith("__i") else result

    method.__name__ = name
    return method


def _live_class(base, names, special):
    ns = {name: _live(base, name) for name in names}
    ns.update({name: _live(base, name, remote, result_arg=True) for name, remote in special.items()})
    return type(f"Live{base.__name__.capitalize()}", (base,), ns)


LIVE = {
    list: _live_class(list, ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse", "__setitem__",
                             "__delitem__", "__iadd__", "__imul__"), {}),
    dict: _live_class(dict, ("__setitem__", "__delitem__", "pop", "clear", "update", "setdefault", "__ior__"),
                      {"popitem": "pop"}),
    set: _live_class(set, ("add", "discard", "remove", "clear", "update", "difference_update", "intersection_update",
                           "symmetric_difference_update", "__ior__", "__iand__", "__isub__", "__ixor__"),
                     {"pop": "discard"}),
}


# ---------------------------------------------------------------------------------------------------------------
# The judge's codec hooks: its objects going out, the candidate's handles coming in.


def _by_name(obj):
    """(module, qualname) when obj is a library function, class or method that resolves back to itself."""
    if isinstance(obj, (RemoteObject, RemoteClass)) or not isinstance(
            obj, (types.BuiltinFunctionType, types.FunctionType, type, types.MethodDescriptorType,
                  types.WrapperDescriptorType, types.ClassMethodDescriptorType)) and type(obj).__name__ != "ufunc":
        return None
    module = getattr(obj, "__module__", None)
    if module is None and hasattr(obj, "__objclass__"):
        module = obj.__objclass__.__module__
    if module is None and isinstance(getattr(obj, "__self__", None), types.ModuleType):
        module = obj.__self__.__name__
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module in (TEST_MODULE, "solution") \
            or module.startswith(("infinicode_runner", "_pytest", "pytest")) or "<" in qualname:
        return None
    try:
        found = importlib.import_module(module) if module in sys.modules else None
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:
        return None
    return [module, qualname] if found is obj else None


def _library_exception(module, qualname):
    """The judge's own class for an exception class of a library the judge has loaded (json.JSONDecodeError,
    dataclasses.FrozenInstanceError...), so `pytest.raises(TheirLibraryError)` works. Never pytest's or unittest's
    (a SkipTest or an outcome would skip or stop tests), never the runner's."""
    if module in ("solution", TEST_MODULE, "builtins") or module.split(".")[0] in (
            "_pytest", "pytest", "pluggy", "unittest", "infinicode_runner") or module not in sys.modules:
        return None
    found = sys.modules[module]
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not (isinstance(found, type) and issubclass(found, Exception)) or issubclass(found, unittest.SkipTest) \
            or found.__module__ != module:
        return None
    return found


_LIVE_TYPES = ()  # filled below, once the live classes exist

_ITERATOR_TYPES = tuple({type(iter(x)) for x in ([], (), range(1), set(), {}, {}.values(), {}.items(), "", b"")}
                        | {enumerate, zip, map, filter, reversed, types.GeneratorType, itertools.count,
                           itertools.cycle, itertools.repeat, itertools.chain, itertools.islice})


def _handable(obj) -> bool:
    """Objects the candidate may hold a handle to: the tests' own code and objects, and iterators."""
    if isinstance(obj, types.FunctionType):
        return obj.__code__.co_filename == TEST_FILE
    if isinstance(obj, types.MethodType):
        return _handable(obj.__func__) and (isinstance(obj.__self__, type) or _handable(obj.__self__))
    if isinstance(obj, types.GeneratorType):
        return obj.gi_code.co_filename == TEST_FILE
    if isinstance(obj, type):
        return obj.__module__ == TEST_MODULE
    if type(obj).__module__ == TEST_MODULE:
        return True
    if isinstance(obj, types.BuiltinMethodType):  # e.g. counts.get as a key function
        return type(obj.__self__) in _VALUE_OWNERS
    return isinstance(obj, _ITERATOR_TYPES) or type(obj).__name__ in ("itemgetter", "attrgetter", "partial")


_VALUE_OWNERS = {dict, list, set, frozenset, str, bytes, tuple, collections.Counter, collections.OrderedDict,
                 collections.defaultdict, collections.deque}


class JudgeHooks:
    def __init__(self, conn):
        self.conn = conn

    def out(self, obj, refs, depth):
        if isinstance(obj, RemoteObject) or isinstance(obj, RemoteClass):
            return {"h": obj._ic_hid}
        live = getattr(obj, "__dict__", {}).get("_ic_live") if type(obj) in _LIVE_TYPES else None
        if live is not None and live[0] is self.conn:
            return {"h": live[1]}
        if id(obj) in self.conn.wrapped and self.conn.proxies.get(self.conn.wrapped[id(obj)]) is obj:
            return {"h": self.conn.wrapped[id(obj)]}
        mirror = getattr(type(obj), "_ic_nt", None)
        if mirror is not None and type(obj).__dict__.get("_ic_nt") is mirror:
            return {"nt": [type(obj)._ic_hid, [self.conn.codec._enc(x, refs, depth + 1) for x in tuple.__iter__(obj)]]}
        if isinstance(obj, types.ModuleType):
            return {"mod": obj.__name__}
        name = _by_name(obj)
        if name is not None:
            return {"n": name}
        if _handable(obj):
            jid = id(obj)
            self.conn.judge_objects[jid] = obj
            return {"j": jid}
        return None

    def back(self, data, refs, depth):
        conn = self.conn
        if "h" in data:
            hid = data["h"]
            known = conn.proxies.get(hid)
            if known is not None:
                return known
            if "C" in data:
                obj = conn.mirror(data["C"])
            else:
                obj = conn.instance(hid, conn.mirror(data["c"]), data, refs, depth)
                if type(obj).__dict__.get("_ic_desc", {}).get("name") == "generator" and \
                        type(obj)._ic_desc.get("module") == "builtins":
                    obj = _pull(obj)  # a genuine generator here, reading the candidate's lazily
                    conn.wrapped[id(obj)] = hid
            conn.proxies[hid] = obj
            return obj
        if "j" in data:
            return conn.judge_objects[data["j"]]
        if "nt" in data:
            cls_key, fields = data["nt"]
            cls = conn.mirror(cls_key)
            if getattr(cls, "_ic_nt", None) is None:
                raise ValueError("malformed namedtuple")
            return cls(*[conn.codec._dec(x, refs, depth + 1) for x in fields])
        raise ValueError("unknown value tag")


# ---------------------------------------------------------------------------------------------------------------
# The connection.


class Connection:
    """The judge's end of the pipes to one candidate process: requests, replies, callbacks, output and time."""

    def __init__(self, pid, to_fd, from_fd, out_fd, err_fd):
        self.pid, self.to_fd, self.from_fd = pid, to_fd, from_fd
        self.out_fd, self.err_fd = out_fd, err_fd
        self.buffers = {out_fd: bytearray(), err_fd: bytearray()}
        self.dropped = {out_fd: 0, err_fd: 0}
        self.open_streams = {out_fd, err_fd}
        self.decoders = {out_fd: codecs.getincrementaldecoder("utf-8")("replace"),
                         err_fd: codecs.getincrementaldecoder("utf-8")("replace")}
        self.deadline = float("inf")
        self.input_deadline = None  # a tighter limit for one call (per-input time limits)
        self.codec = wire.Codec(JudgeHooks(self))
        self.proxies = {}  # candidate handle -> proxy (identity is kept)
        self.wrapped = {}  # id of a judge generator reading a candidate generator -> its handle
        self.classes = {}  # candidate class id -> mirror class
        self.judge_objects = {}  # handle -> judge object the candidate may use
        self.unsupported = []  # constructs that made the verdict undecidable
        self.nesting = 0
        self.forward = False  # copy the candidate's output to sys.stdout/err as it comes (pytest capture)
        self._resp = bytearray()
        self.module = None
        os.set_blocking(to_fd, False)

    # -- time and pipes ---------------------------------------------------------------------------------------
    def _limit(self):
        limit = self.deadline if self.input_deadline is None else min(self.deadline, self.input_deadline)
        remaining = limit - time.monotonic()
        if remaining <= 0:
            raise Deadline("input" if self.input_deadline is not None and self.input_deadline < self.deadline
                           else "job")
        return remaining

    def _keep(self, fd, chunk):
        buf = self.buffers[fd]
        room = max(0, MAX_OUTPUT - len(buf))
        buf += chunk[:room]
        self.dropped[fd] += max(0, len(chunk) - room)
        if self.forward:
            text = self.decoders[fd].decode(chunk)
            try:
                (sys.stdout if fd == self.out_fd else sys.stderr).write(text)
            except Exception:
                pass

    def _wait(self, write=False, timeout=None):
        remaining = self._limit() if timeout is None else timeout
        readers = [self.from_fd, *self.open_streams]
        ready, writable, _ = select.select(readers, [self.to_fd] if write else [], [], remaining)
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if fd == self.from_fd:
                if not chunk:
                    raise CandidateGone("the candidate process ended during the tests")
                self._resp += chunk
                if len(self._resp) > wire.MAX_MESSAGE + 4:
                    raise CandidateGone("the candidate sent an oversized reply")
            elif chunk:
                self._keep(fd, chunk)
            else:
                self.open_streams.discard(fd)
        return bool(writable)

    def send(self, obj):
        try:
            payload = memoryview(wire.dumps(obj))
        except (TypeError, ValueError) as exc:
            raise Unsupported(f"a value the tests sent cannot be written ({exc})")
        while payload:
            try:
                payload = payload[os.write(self.to_fd, payload):]
            except BlockingIOError:
                self._wait(write=True)
            except OSError:
                raise CandidateGone("the candidate process ended during the tests")

    def receive(self):
        while len(self._resp) < 4:
            self._wait()
        (n,) = struct.unpack(">I", bytes(self._resp[:4]))
        if n > wire.MAX_MESSAGE:
            raise CandidateGone("the candidate sent an oversized reply")
        while len(self._resp) < 4 + n:
            self._wait()
        data = bytes(self._resp[4:4 + n])
        del self._resp[:4 + n]
        if self.open_streams:  # output written before the reply is in the pipes by now
            self._wait(timeout=0)
        try:
            reply = wire.json.loads(data)
        except ValueError:
            raise CandidateGone("the candidate broke the protocol")
        if type(reply) is not dict:
            raise CandidateGone("the candidate broke the protocol")
        return reply

    def drain(self):
        """After the candidate is dead: read what is left of its output, without waiting."""
        for fd in list(self.open_streams):
            while len(self.buffers[fd]) < MAX_OUTPUT:
                ready, _, _ = select.select([fd], [], [], 0)
                chunk = os.read(fd, 1 << 16) if ready else b""
                if not chunk:
                    break
                self._keep(fd, chunk)

    def output(self, fd):
        text = bytes(self.buffers[fd]).decode("utf-8", "replace")
        if self.dropped[fd]:
            text += f"\n[... {self.dropped[fd]} more bytes not kept]"
        return text

    def close(self):
        for fd in (self.to_fd, self.from_fd, self.out_fd, self.err_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- requests to the candidate ----------------------------------------------------------------------------
    def request(self, msg, refs=None):
        """Send one request and wait for its reply, serving the candidate's own requests (callbacks) meanwhile."""
        self.send(msg)
        while True:
            reply = self.receive()
            if "op" in reply:
                self.send(self.serve(reply))
                continue
            return self._result(reply, refs)

    def request_raw(self, msg):
        """One request whose reply is plain data (whole-program runs)."""
        self.send(msg)
        return self.receive()

    def _result(self, reply, refs):
        back = {n: obj for n, obj in refs.values()} if refs else {}
        try:
            for number, contents in reply.get("s", ()):
                wire.update_in_place(refs_target(refs, number), self.codec.decode(contents, back))
            if "ok" in reply:
                value = self.codec.decode(reply["ok"], back)
                if type(reply.get("live")) is int and type(value) in LIVE:
                    live = LIVE[type(value)](value)
                    live.__dict__["_ic_live"] = (self, reply["live"])
                    return live
                return value
            exc = reply.get("exc")
            error = self.codec.decode(exc["e"], back) if type(exc) is dict else None
        except (Deadline, CandidateGone, Unsupported):
            raise
        except Exception as err:
            raise CandidateGone(f"the candidate sent a malformed value ({type(err).__name__}: {err})"[:300])
        if not isinstance(error, BaseException):
            raise CandidateGone("the candidate broke the protocol")
        error._ic_remote_tb = str(exc.get("tb", ""))[:4000]
        raise error

    def _target(self, target):
        return target if type(target) is dict else self.codec.encode(target)

    def _args(self, args, kwargs, refs):
        try:
            return ([self.codec.encode(a, refs) for a in args],
                    {str(k): self.codec.encode(v, refs) for k, v in (kwargs or {}).items()})
        except (TypeError, ValueError) as exc:
            raise self.unsupported_construct(f"handing this to the program: {exc}")

    def call(self, target, args, kwargs=None):
        refs = {}
        a, k = self._args(args, kwargs, refs)
        return self.request({"op": "call", "t": self._target(target), "a": a, "k": k}, refs)

    def callm(self, target, name, args, kwargs=None):
        refs = {}
        a, k = self._args(args, kwargs, refs)
        return self.request({"op": "callm", "t": self._target(target), "m": name, "a": a, "k": k}, refs)

    def get(self, target, name):
        return self.request({"op": "get", "t": self._target(target), "n": name})

    def set(self, target, name, value):
        refs = {}
        a, _ = self._args([value], None, refs)
        return self.request({"op": "set", "t": self._target(target), "n": name, "a": a}, refs)

    def fields(self, target, names):
        return self.request({"op": "fields", "t": self._target(target), "n": list(names)})

    def value(self, target):
        """The builtin value inside an instance of a subclass of a value type (a list subclass, an IntFlag...)."""
        return self.request({"op": "value", "t": self._target(target), "n": type(target)._ic_desc.get("value")})

    def text(self, target, dunder):
        value = self.callm(target, dunder, ())
        if type(value) is not str:
            raise TypeError(f"{dunder} returned {type(value).__name__}, not str")
        return value

    # -- mirrors ------------------------------------------------------------------------------------------------
    def mirror(self, key):
        """The judge-side class for a candidate class (a description the first time, then its id)."""
        if type(key) is int:
            if key not in self.classes:
                raise ValueError("unknown class")
            return self.classes[key]
        if type(key) is not dict or type(key.get("id")) is not int:
            raise ValueError("malformed class")
        if key["id"] in self.classes:
            return self.classes[key["id"]]
        cls = self._build_mirror(key)
        self.classes[key["id"]] = cls
        return cls

    def _build_mirror(self, desc):
        name, module = str(desc.get("name", "object"))[:100], str(desc.get("module", ""))[:100]
        if module == "builtins":
            genuine = getattr(builtins, name, None)
            if isinstance(genuine, type) and (name in _GENUINE_TYPES or (
                    issubclass(genuine, BaseException) and name not in _UNSAFE_EXCEPTIONS)):
                return genuine
        genuine = _library_exception(module, str(desc.get("qualname", name)))
        if genuine is not None:
            return genuine
        bases = [self.mirror(b) for b in desc.get("bases", [])]
        bases = [b for b in bases if isinstance(b, RemoteClass) or issubclass(b, BaseException)]
        bases = [b for b in bases if not (issubclass(b, BaseException) and b.__name__ in _UNSAFE_EXCEPTIONS)]
        ns = {"_ic_desc": desc, "_ic_hid": desc["id"], "_ic_conn": self, "__module__": module,
              "__qualname__": str(desc.get("qualname", name))[:200], "__doc__": None}
        local = set(dir(BaseException)) | set(dir(tuple)) | {"_asdict", "_replace", "_make", "_fields",
                                                                  "_field_defaults"}
        for member in desc.get("methods", ()):
            if type(member) is str and _mirror_attrs(member) and member not in local:
                ns[member] = RemoteMember(member)
        for dunder in desc.get("dunders", ()):
            if dunder in _DUNDER_OPS:
                ns[dunder] = _forwarder(dunder)
        if "nt" in desc:  # namedtuples cross by value: a genuine namedtuple class with the same fields
            fields = [str(f) for f in desc["nt"]]
            defaults = [self.codec.decode(d) for d in desc.get("nt_defaults", [])]
            base = collections.namedtuple(name, fields, defaults=defaults or None)
            ns = {k: v for k, v in ns.items() if k not in ("__doc__",) and k not in fields}
            ns["__slots__"] = ()
            cls = type(name, (base,), ns)
            cls._ic_nt = cls
            return cls
        if any(issubclass(b, BaseException) for b in bases):
            if not any(issubclass(b, RemoteException) for b in bases):
                bases.insert(0, RemoteException)
        elif not bases:
            bases = [RemoteObject]
        meta = RemoteContainerClass if desc.get("meta") else RemoteClass
        try:
            return meta(name, tuple(bases), ns)
        except TypeError:  # an MRO the judge cannot rebuild: keep the class, lose the bases
            return meta(name, (RemoteObject,), ns)

    def instance(self, hid, cls, data, refs, depth):
        if isinstance(cls, type) and issubclass(cls, BaseException):
            args = tuple(self.codec._dec(a, refs, depth + 1) for a in data.get("a", []))
            message = str(data.get("m", ""))[:2000]
            if not issubclass(cls, RemoteException):
                try:
                    exc = cls(*args)
                except Exception:
                    exc = cls.__new__(cls)
                    exc.args = args
                if isinstance(exc, CandidateError):
                    exc.args = (message,)
                return exc
            exc = cls.__new__(cls)
            exc.args = args
            exc.__dict__.update(_ic_hid=hid, _ic_conn=self, _ic_msg=message)
            return exc
        if not isinstance(cls, RemoteClass):  # a genuine builtin type reported for a handle: keep it opaque
            cls = self._build_mirror({"id": -1, "name": getattr(cls, "__name__", "object"), "module": "builtins*",
                                      "eq": "identity", "hash": "identity"})
        obj = object.__new__(cls)
        obj.__dict__.update(_ic_hid=hid, _ic_conn=self)
        return obj

    # -- comparisons: decided here ------------------------------------------------------------------------------
    def unsupported_construct(self, text):
        if text not in self.unsupported:
            self.unsupported.append(text)
        return Unsupported(text)

    def eq(self, a, b):
        if a is b:
            return True
        desc = type(a)._ic_desc
        kind = desc.get("eq")
        if kind == "identity" or b is None:
            return NotImplemented
        if kind == "enum":
            if desc.get("mixin") and not isinstance(b, (RemoteObject, RemoteClass)):
                return self.get(a, "_value_") == b
            return NotImplemented
        if kind == "dataclass":
            if type(b) is not type(a):
                return NotImplemented
            names = desc.get("fields", [])
            return self.fields(a, names) == self.fields(b, names)
        if kind == "value":
            other = self.value(b) if isinstance(b, RemoteObject) and type(b)._ic_desc.get("eq") == "value" else b
            if isinstance(other, (RemoteObject, RemoteClass)):
                return NotImplemented
            return self.value(a) == other
        if not isinstance(b, (RemoteObject, RemoteClass)):
            return NotImplemented  # the program's __eq__ never sees a value of the tests: this is how forgery works
        raise self.unsupported_construct(
            f"comparing {desc.get('qualname')} objects with ==: {desc.get('eq_owner') or desc.get('qualname')} "
            "defines its own __eq__, so the program would decide its own verdict")

    def order(self, a, b, op):
        desc = type(a)._ic_desc
        kind = desc.get("order")
        if kind == "dataclass" and type(b) is type(a):
            names = desc.get("fields", [])
            left, right = self.fields(a, names), self.fields(b, names)
        elif kind == "value":
            left = self.value(a)
            right = self.value(b) if isinstance(b, RemoteObject) and type(b)._ic_desc.get("eq") == "value" else b
            if isinstance(right, (RemoteObject, RemoteClass)):
                return NotImplemented
        elif desc.get("eq") == "enum" and desc.get("mixin"):
            left = self.get(a, "_value_")
            right = self.get(b, "_value_") if isinstance(b, RemoteObject) else b
        elif kind == "custom" and isinstance(b, (RemoteObject, RemoteClass)):
            raise self.unsupported_construct(
                f"ordering {desc.get('qualname')} objects with {op}: the class defines its own comparison, so the "
                "program would decide its own verdict")
        else:
            return NotImplemented
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]

    def hash(self, a):
        desc = type(a)._ic_desc
        kind = desc.get("hash")
        if kind == "fields":
            return hash(self.fields(a, desc.get("fields", [])))
        if kind == "value":
            return hash(self.value(a))
        if kind == "remote":
            value = self.callm(a, "__hash__", ())
            if type(value) is not int:
                raise TypeError("__hash__ returned a non-integer")
            return value
        if kind == "none":
            raise TypeError(f"unhashable type: '{desc.get('name')}'")
        return hash(("infinicode-handle", a._ic_hid))

    # -- the candidate's requests on judge objects ----------------------------------------------------------
    def serve(self, msg):
        """Carry out one request of the candidate on a judge object (the tests' callbacks and objects)."""
        if self.nesting >= MAX_NESTING:
            return {"exc": {"t": "RecursionError", "m": "calls between the tests and the program nested too deeply"}}
        self.nesting += 1
        refs = {}
        try:
            back = {}
            target = self.codec.decode(msg.get("t"), back)
            args = [self.codec.decode(a, back) for a in msg.get("a", [])]
            kwargs = {str(k): self.codec.decode(v, back) for k, v in (msg.get("k") or {}).items()}
        except (Deadline, CandidateGone, Unsupported):
            raise
        except Exception:
            self.nesting -= 1
            raise CandidateGone("the candidate sent a malformed request")
        snapshots = [(n, wire.Snapshot(o)) for n, o in back.items() if wire.is_mutable(o)]
        try:
            result = _judge_op(msg.get("op"), target, str(msg.get("m") or msg.get("n") or ""), args, kwargs)
            enc_refs = {id(o): [n, o] for n, o in back.items()}
            reply = {"ok": self.codec.encode(result, enc_refs)}
            sync = [[n, wire.encode_contents(self.codec, s.obj, enc_refs)] for n, s in snapshots if s.changed()]
            if sync:
                reply["s"] = sync
            return reply
        except (Deadline, CandidateGone, Unsupported):
            raise
        except TypeError as exc:
            if "cannot cross" in str(exc):
                self.unsupported_construct(f"handing this to the program: {exc}")
            return {"exc": _judge_exception(exc)}
        except BaseException as exc:
            return {"exc": _judge_exception(exc)}
        finally:
            self.nesting -= 1


def refs_target(refs, number):
    for n, obj in (refs or {}).values():
        if n == number:
            return obj
    raise ValueError("sync for an unknown reference")


_OPERATORS = {"__len__": len, "__iter__": iter, "__next__": next, "__bool__": bool, "__str__": str, "__repr__": repr,
              "__hash__": hash, "__getitem__": lambda o, k: o[k], "__contains__": lambda o, x: x in o,
              "__eq__": lambda o, x: o == x, "__lt__": lambda o, x: o < x, "__le__": lambda o, x: o <= x,
              "__gt__": lambda o, x: o > x, "__ge__": lambda o, x: o >= x, "__reversed__": reversed}
_TEST_OBJECT_OPS = {"__setitem__": lambda o, k, v: o.__setitem__(k, v), "__delitem__": lambda o, k: o.__delitem__(k)}


def _judge_op(op, target, name, args, kwargs):
    tests_own = type(target).__module__ == TEST_MODULE or (isinstance(target, type) and target.__module__ == TEST_MODULE)
    if op == "call":
        if not callable(target):
            raise TypeError(f"'{type(target).__name__}' object is not callable")
        return target(*args, **kwargs)
    if op == "callm" and name in _OPERATORS:
        return _OPERATORS[name](target, *args)
    if op == "callm" and name in _TEST_OBJECT_OPS and tests_own:
        return _TEST_OBJECT_OPS[name](target, *args)
    if name.startswith("_") or not tests_own:
        raise AttributeError(f"the program may not use attribute {name!r} of a {type(target).__name__} from the tests")
    if op == "callm":
        return getattr(target, name)(*args, **kwargs)
    if op == "get":
        return getattr(target, name)
    if op == "set" and not isinstance(target, type):
        return setattr(target, name, args[0])
    raise AttributeError(f"operation {op!r} is not allowed on objects of the tests")


def _judge_exception(exc):
    name = type(exc).__name__
    kind = name if isinstance(getattr(builtins, name, None), type) and type(exc) is getattr(builtins, name) \
        else ("AssertionError" if isinstance(exc, AssertionError) else "Exception")
    try:
        message = str(exc)[:2000]
    except Exception:
        message = ""
    return {"t": kind, "m": message if kind == name else f"{name}: {message}"}


_LIVE_TYPES = tuple(LIVE.values())
