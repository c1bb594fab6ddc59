"""The judge's end of the boundary: the connection to one candidate process.

It carries requests (calls, attributes, iteration) and their replies, serves the candidate's requests on objects
the tests handed over (handover.py), keeps the job's time, and decides every comparison of candidate objects:
identity, dataclass fields, enum members, the value inside a subclass of a value type. Where only the candidate's
own __eq__/__lt__ could decide, the job ends as `unsupported` (Unsupported) rather than trusting it.
"""

from __future__ import annotations

import builtins
import codecs
import collections
import os
import select
import struct
import sys
import threading
import time
import types
import warnings

from . import codec as wire
from .handover import JudgeHooks, judge_exception, judge_op, library_exception
from .proxies import (
    DUNDER_OPS,
    GENUINE_TYPES,
    LIVE,
    MAX_NESTING,
    MAX_OUTPUT,
    UNSAFE_EXCEPTIONS,
    CandidateError,
    CandidateGone,
    Deadline,
    RemoteClass,
    RemoteContainerClass,
    RemoteException,
    RemoteMember,
    RemoteObject,
    Unsupported,
    dataclass_members,
    forwarder,
    mirrored_name,
)
from .state import MAX_RECORDS, TestsState, log_again

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
        self.state = TestsState()  # the tests' environment, cwd, argv and random seed, as the candidate has them
        self.lock = threading.RLock()  # a callback may call the program again from the same thread
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
            raise Unsupported(f"a value the tests sent cannot be written ({exc})") from None
        while payload:
            try:
                payload = payload[os.write(self.to_fd, payload):]
            except BlockingIOError:
                self._wait(write=True)
            except OSError:
                raise CandidateGone("the candidate process ended during the tests") from None

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
        if self.forward and self.open_streams:  # output written before the reply is in the pipes now: pass it on
            self._wait(timeout=0)
        try:
            reply = wire.json.loads(data)
        except ValueError:
            raise CandidateGone("the candidate broke the protocol") from None
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
        """Send one request and wait for its reply, serving the candidate's own requests (callbacks) meanwhile.
        Tests that call the program from several threads take turns: one request and its reply at a time."""
        with self.lock:
            changed = self.state.changes(self.encode_handed)
            if changed:
                msg["ctx"] = changed
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
                wire.update_in_place(back[number], self.codec.decode(contents, back))
            for category, message in reply.get("w", ()):
                warn_again(str(category), str(message))
            for record in reply.get("l", ())[:MAX_RECORDS]:
                if self.state.records_left > 0:  # a job's records are bounded: they stay in pytest's memory
                    self.state.records_left -= 1
                    log_again(record)
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
            raise CandidateGone(f"the candidate sent a malformed value ({type(err).__name__}: {err})"[:300]) from None
        if not isinstance(error, BaseException):
            raise CandidateGone("the candidate broke the protocol")
        error._ic_remote_tb = str(exc.get("tb", ""))[:4000]
        raise error

    def encode_handed(self, value):
        """A value the tests hand to the program outside a call (a patch)."""
        try:
            return self.codec.encode(value, {})
        except (TypeError, ValueError) as exc:
            raise self.unsupported_construct(f"handing this to the program: {exc}") from None

    def _target(self, target):
        return target if type(target) is dict else self.codec.encode(target)

    def _args(self, args, kwargs, refs):
        try:
            return ([self.codec.encode(a, refs) for a in args],
                    {str(k): self.codec.encode(v, refs) for k, v in (kwargs or {}).items()})
        except (TypeError, ValueError) as exc:
            raise self.unsupported_construct(f"handing this to the program: {exc}") from None

    def call(self, target, args, kwargs=None):
        refs = {}
        a, k = self._args(args, kwargs, refs)
        return self.request({"op": "call", "t": self._target(target), "a": a, "k": k}, refs)

    def callm(self, target, name, args, kwargs=None):
        refs = {}
        a, k = self._args(args, kwargs, refs)
        return self.request({"op": "callm", "t": self._target(target), "m": name, "a": a, "k": k}, refs)

    def call_unbound(self, cls, name, obj, args, kwargs):
        """cls.name(obj, *args) in the program: a method of the program's class itself (super() from the tests)."""
        refs = {}
        a, k = self._args((obj, *args), kwargs, refs)
        return self.request({"op": "unbound", "t": {"h": cls._ic_hid}, "m": str(name), "a": a, "k": k}, refs)

    def get(self, target, name):
        return self.request({"op": "get", "t": self._target(target), "n": name})

    def set(self, target, name, value):
        refs = {}
        a, _ = self._args([value], None, refs)
        return self.request({"op": "set", "t": self._target(target), "n": name, "a": a}, refs)

    def adopt_subclass(self, cls):
        """A class of the tests deriving from the program's class (`class Square(Shape)` in a test module): it is
        made in the program's process too, with the tests' functions as its methods (each runs here, called back),
        so the program's methods and the tests' act on one object, which is an instance of the tests' class here."""
        bases = [b for b in cls.__bases__ if b is not object]
        if len(bases) != 1 or not isinstance(bases[0], RemoteClass):
            raise self.unsupported_construct(
                f"the test class {cls.__qualname__} derives from the program's class and from another class")
        base = bases[0]
        if "_ic_desc" not in base.__dict__:
            self.adopt_subclass(base)
        members = {}
        for name, value in cls.__dict__.items():
            if name in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__annotations__") \
                    or name.startswith("_ic_"):
                continue
            if not isinstance(value, (types.FunctionType, int, float, str, bool, tuple, type(None))):
                raise self.unsupported_construct(
                    f"a {type(value).__name__} ({name}) in the test class {cls.__qualname__}, which derives from the "
                    "program's class (its functions and plain values can be given to the program, not this)")
            members[name] = value
        made = self.request({"op": "subclass", "t": {"h": base._ic_hid}, "n": cls.__name__[:100],
                             "a": [self.encode_handed(members)]})
        if not isinstance(made, RemoteClass) or "_ic_desc" not in made.__dict__:
            raise CandidateGone("the candidate broke the protocol")
        type.__setattr__(cls, "_ic_desc", made._ic_desc)
        type.__setattr__(cls, "_ic_hid", made._ic_hid)
        self.classes[made._ic_hid] = cls  # the program's objects of that class are the tests' class here

    def signature(self, target):
        """inspect.signature of a program's function or class, rebuilt here from its parameters."""
        import inspect

        data = self.request({"op": "signature", "t": self._target(target)})
        try:
            params, returns = data
            empty = inspect.Parameter.empty
            return inspect.Signature(
                [inspect.Parameter(name, inspect._ParameterKind(kind),
                                   default=default if has_default else empty,
                                   annotation=empty if annotation is None else annotation)
                 for name, kind, has_default, default, annotation in params],
                return_annotation=empty if returns is None else returns)
        except (TypeError, ValueError):
            raise AttributeError("__signature__") from None  # inspect falls back to the proxy's own

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
            if isinstance(genuine, type) and (name in GENUINE_TYPES or (
                    issubclass(genuine, BaseException) and name not in UNSAFE_EXCEPTIONS)):
                return genuine
        genuine = library_exception(module, str(desc.get("qualname", name)))
        if genuine is not None:
            return genuine
        bases = [self.mirror(b) for b in desc.get("bases", [])]
        bases = [b for b in bases if isinstance(b, RemoteClass) or issubclass(b, BaseException)]
        bases = [b for b in bases if not (issubclass(b, BaseException) and b.__name__ in UNSAFE_EXCEPTIONS)]
        doc = desc.get("doc") if type(desc.get("doc")) is str else None
        if name in ("function", "method", "builtin_function_or_method"):  # each one has its own docstring
            doc = property(lambda self: self._ic_conn.get(self, "__doc__"))
        ns = {"_ic_desc": desc, "_ic_hid": desc["id"], "_ic_conn": self, "__module__": module,
              "__qualname__": str(desc.get("qualname", name))[:200], "__doc__": doc}
        local = set(dir(BaseException)) | set(dir(tuple)) | {"_asdict", "_replace", "_make", "_fields",
                                                                  "_field_defaults"}
        for member in desc.get("methods", ()):
            if type(member) is str and mirrored_name(member) and member not in local and not member.startswith("__"):
                ns[member] = RemoteMember(member)
        for dunder in desc.get("dunders", ()):
            if dunder in DUNDER_OPS:
                ns[dunder] = forwarder(dunder)
        ns.update(dataclass_members(desc))
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
        else:
            ns["__init__"] = RemoteMember("__init__")  # reached only by super().__init__() in a test class
            bases = bases or [RemoteObject]
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
        object.__setattr__(obj, "_ic_hid", hid)
        object.__setattr__(obj, "_ic_conn", self)
        return obj

    # -- comparisons: decided here ------------------------------------------------------------------------------
    def stdin(self, kind, prompt):
        """The program reads standard input: it reads the tests' (what they patched, or nothing)."""
        self.nesting += 1
        try:
            value = _read_stdin(kind, prompt)
            return {"ok": value if type(value) is str else ""}
        except (Deadline, CandidateGone, Unsupported):
            raise
        except BaseException as exc:
            return {"exc": judge_exception(exc)}
        finally:
            self.nesting -= 1

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
        if isinstance(b, RemoteObject) and type(b) is type(a):
            agreed = self._agreed_eq(a, b)
            if agreed is not None:
                return agreed
        raise self.unsupported_construct(
            f"comparing {desc.get('qualname')} objects with ==: {desc.get('eq_owner') or desc.get('qualname')} "
            "defines its own __eq__, so the program would decide its own verdict")

    def _agreed_eq(self, a, b):
        """Two objects of one program class with its own __eq__ (`v1 + v2 == Vector(4, 6)`): its answer counts when
        the objects' attributes, compared here by the same rules, give the same one. An __eq__ that says True of
        objects that differ disagrees, and the comparison stays undecided (None)."""
        try:
            left, right = self.get(a, "__dict__"), self.get(b, "__dict__")
            if not isinstance(left, dict) or not isinstance(right, dict):
                return None
            same = dict(left) == dict(right)
            said = self.callm(a, "__eq__", (b,))
        except (Deadline, CandidateGone, Unsupported):
            raise
        except Exception:  # no __dict__ (slots), a recursion without end...
            return None
        return said if type(said) is bool and said == same else None

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
        elif kind == "custom":
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
        if msg.get("op") == "stdin":
            return self.stdin(str(msg.get("n")), msg.get("a"))
        self.nesting += 1
        try:
            back = {}
            if type(msg.get("t")) is not dict or list(msg["t"]) != ["j"] or msg["t"]["j"] not in self.judge_objects:
                raise ValueError("a request on something the tests did not hand over")
            target = self.codec.decode(msg.get("t"), back)
            args = [self.codec.decode(a, back) for a in msg.get("a", [])]
            kwargs = {str(k): self.codec.decode(v, back) for k, v in (msg.get("k") or {}).items()}
        except (Deadline, CandidateGone, Unsupported):
            raise
        except Exception:
            self.nesting -= 1
            raise CandidateGone("the candidate sent a malformed request") from None
        snapshots = [(n, wire.Snapshot(o)) for n, o in back.items() if wire.is_mutable(o)]
        try:
            result = judge_op(msg.get("op"), target, str(msg.get("m") or msg.get("n") or ""), args, kwargs)
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
            return {"exc": judge_exception(exc)}
        except BaseException as exc:
            return {"exc": judge_exception(exc)}
        finally:
            self.nesting -= 1


def _read_stdin(kind, prompt):
    if kind == "input":  # the tests may have patched builtins.input or sys.stdin; the prompt goes to their stdout
        return builtins.input(str(prompt)[:1000] if prompt is not None else "")
    if kind == "readline":
        return sys.stdin.readline()
    return sys.stdin.read()


def warn_again(category, message):
    """A warning the program issued during a call, issued here so `pytest.warns` sees it (builtin categories)."""
    cls = getattr(builtins, category, None)
    if not (isinstance(cls, type) and issubclass(cls, Warning)):
        cls = UserWarning
    warnings.warn(message[:2000], cls, stacklevel=2)


