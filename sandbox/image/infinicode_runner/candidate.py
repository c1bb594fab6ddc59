"""The candidate process: it runs the untrusted program and answers the judge's requests on its objects.

Forked by the judge before a job (and its secret) arrives. Once the program is loaded, everything in this
process is untrusted, this module included (the program may patch it): that is why the judge checks every reply
and decides every verdict itself. This side describes classes honestly so that honest programs behave as Python
objects to the tests; a lying description can only make the candidate's own objects behave worse.
"""

from __future__ import annotations

import base64
import builtins
import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import importlib
import json
import math
import os
import resource
import select
import signal
import sys
import time
import traceback
import types
import warnings

from . import codec as wire
from .handover import is_pure_library

_VALUE_BASES = {int, float, complex, str, bytes, bytearray, tuple, list, dict, set, frozenset, collections.deque,
                collections.OrderedDict, collections.Counter, collections.defaultdict, decimal.Decimal,
                fractions.Fraction, datetime.date, datetime.datetime, datetime.time, datetime.timedelta}
_FORWARDED = ("__len__", "__iter__", "__next__", "__reversed__", "__getitem__", "__setitem__", "__delitem__",
              "__contains__", "__bool__", "__call__", "__enter__", "__exit__", "__int__", "__float__", "__complex__",
              "__index__", "__round__", "__trunc__", "__floor__", "__ceil__", "__format__", "__bytes__", "__fspath__",
              "__length_hint__", "__neg__", "__pos__", "__abs__", "__invert__",
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
    value_base = next((b for b in cls.__mro__ if b in _VALUE_BASES), None)
    if isinstance(cls, enum.EnumMeta):
        desc["eq"], desc["hash"] = "enum", "identity"
        desc["mixin"] = any(b in _VALUE_BASES for b in cls.__mro__)
    elif eq_owner is object:
        desc["eq"] = "identity"
    elif params is not None and params.eq and _generated(cls.__eq__):
        desc["eq"] = "dataclass"
        desc["fields"] = [f.name for f in dataclasses.fields(cls) if f.compare]
    elif value_base is not None and eq_owner is value_base:
        desc["eq"], desc["value"] = "value", value_base.__name__
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
    if _is_namedtuple(cls):
        desc["nt"] = [str(f) for f in cls._fields]
        defaults = getattr(cls, "_field_defaults", {}) or {}
        tail = [f for f in cls._fields if f in defaults]
        desc["nt_defaults_for"] = tail
    desc["dunders"] = [name for name in _FORWARDED if _owner(cls, name) is not object and hasattr(cls, name)]
    meta = type(cls)
    desc["meta"] = [d for d in ("__iter__", "__len__", "__contains__", "__getitem__")
                    if hasattr(meta, d) and _owner(meta, d) not in (type, object)]
    methods = []
    for name in dir(cls):
        if name.startswith("__"):
            continue
        for klass in cls.__mro__:
            if name in klass.__dict__:
                raw = klass.__dict__[name]
                if isinstance(raw, (types.FunctionType, staticmethod, classmethod, types.BuiltinFunctionType,
                                    types.MethodDescriptorType, types.WrapperDescriptorType)):
                    methods.append(name)
                break
    desc["methods"] = methods
    return desc


class JudgeProxy:
    """A judge object the tests handed over (a callback, the tests' own object, an iterator)."""

    __slots__ = ("_jid", "_side")

    def __init__(self, side, jid):
        object.__setattr__(self, "_jid", jid)
        object.__setattr__(self, "_side", side)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._side.request({"op": "get", "t": {"j": self._jid}, "n": name})

    def __setattr__(self, name, value):
        self._side.request_args("set", self, [value], {}, n=name)

    def __call__(self, *args, **kwargs):
        return self._side.request_args("call", self, args, kwargs)

    def __repr__(self):
        return self._side.request_args("callm", self, (), {}, m="__repr__")


def _proxy_dunder(name):
    def forward(self, *args):
        return self._side.request_args("callm", self, args, {}, m=name)
    return forward


for _name in ("__len__", "__iter__", "__next__", "__getitem__", "__setitem__", "__delitem__", "__contains__",
              "__bool__", "__str__", "__eq__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__reversed__"):
    setattr(JudgeProxy, _name, _proxy_dunder(_name))


class CandidateHooks:
    def __init__(self, side):
        self.side = side

    def out(self, obj, refs, depth):
        side = self.side
        t = type(obj)
        if t is JudgeProxy:
            return {"j": object.__getattribute__(obj, "_jid")}
        if t.__module__ != "numpy" and "numpy" in sys.modules and isinstance(obj, sys.modules["numpy"].ndarray):
            # Arrays are values: a subclass crosses as its data (np.asarray), its own methods stay behind.
            return side.codec._enc(obj.view(sys.modules["numpy"].ndarray), refs, depth)
        if _is_namedtuple(t):
            return {"nt": [side.class_key(t), [side.codec._enc(x, refs, depth + 1) for x in tuple.__iter__(obj)]]}
        name = _library_name(obj)
        if name is not None:
            return {"lib": name}
        hid = id(obj)
        side.handles[hid] = obj
        if isinstance(obj, type):
            return {"h": hid, "C": side.class_key(obj)}
        data = {"h": hid, "c": side.class_key(t)}
        if isinstance(obj, BaseException):
            args = obj.args if type(obj.args) is tuple else ()
            data["a"] = [side.encode_any(a, refs, depth + 1) for a in args]
            data["m"] = _safe_str(obj)
        return data

    def back(self, data, refs, depth):
        side = self.side
        if "h" in data:
            return side.handles[data["h"]]
        if "j" in data:
            jid = data["j"]
            proxy = side.judge_proxies.get(jid)
            if proxy is None:
                proxy = side.judge_proxies[jid] = JudgeProxy(side, jid)
            return proxy
        if "n" in data:
            module, qualname = data["n"]
            found = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
            return found
        if "mod" in data:
            return importlib.import_module(data["mod"])
        if "nt" in data:
            cls = side.handles[data["nt"][0]]
            return cls._make(side.codec._dec(x, refs, depth + 1) for x in data["nt"][1])
        raise ValueError("unknown value tag")


PRELOADED = set(sys.modules)  # what the judge has loaded too (the candidate is forked from it)


def _library_name(obj):
    """[module, qualname] of a module, function or class of a preloaded library, when it resolves to obj."""
    if isinstance(obj, types.ModuleType):
        module, qualname = obj.__name__, ""
    elif isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)) or type(obj).__module__ == "typing":
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None) or getattr(obj, "_name", None) or getattr(obj, "__name__", None)
    else:
        return None
    if not isinstance(module, str) or not isinstance(qualname, str) or module not in PRELOADED \
            or not is_pure_library(module, qualname):
        return None
    found = sys.modules[module]
    try:
        for part in filter(None, qualname.split(".")):
            found = getattr(found, part)
    except Exception:
        return None
    return [module, qualname] if found is obj else None


def _is_namedtuple(cls):
    return cls is not tuple and issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple) \
        and isinstance(getattr(cls, "_field_defaults", None), dict) and callable(getattr(cls, "_make", None))


def _safe_str(obj):
    try:
        return str(obj)[:2000]
    except BaseException:
        return f"<{type(obj).__name__}>"


def _value_of(obj, base_name):
    base = next(b for b in _VALUE_BASES if b.__name__ == base_name)
    if base is datetime.date:
        return datetime.date(obj.year, obj.month, obj.day)
    if base is datetime.datetime:
        return datetime.datetime(obj.year, obj.month, obj.day, obj.hour, obj.minute, obj.second, obj.microsecond,
                                 obj.tzinfo)
    if base is datetime.time:
        return datetime.time(obj.hour, obj.minute, obj.second, obj.microsecond, obj.tzinfo)
    if base is datetime.timedelta:
        return datetime.timedelta(obj.days, obj.seconds, obj.microseconds)
    if base is collections.defaultdict:
        return dict(obj)
    return base(obj)


class CandidateSide:
    """This process's end of the pipes: it serves the judge and calls back into the judge for handed objects."""

    def __init__(self, from_judge, to_judge):
        self.from_judge, self.to_judge = from_judge, to_judge
        self.handles = {}
        self.described = set()
        self.judge_proxies = {}
        self.codec = wire.Codec(CandidateHooks(self))
        self.warned = []
        # Every warning the program issues during a call is kept for the reply (a hook set once: cheaper than
        # catching warnings around each call); the judge's own filters decide what is shown.
        warnings.simplefilter("always")
        warnings.showwarning = self._keep_warning

    def _keep_warning(self, message, category, *_args, **_kwargs):
        self.warned.append([getattr(category, "__name__", "UserWarning"), _safe_str(message)])

    def class_key(self, cls):
        cid = id(cls)
        if cid in self.described:
            return cid
        self.described.add(cid)
        self.handles[cid] = cls
        try:
            desc = describe(cls, self.class_key)
            if "nt_defaults_for" in desc:
                defaults = cls._field_defaults
                desc["nt_defaults"] = [self.encode_any(defaults[f], {}, 0) for f in desc.pop("nt_defaults_for")]
        except BaseException:  # a class this side cannot make sense of: its objects compare by identity
            desc = {"name": _safe_str(getattr(cls, "__name__", "object")), "module": "", "bases": [],
                    "eq": "identity", "hash": "identity", "order": "none", "dunders": [], "methods": []}
        desc["id"] = cid
        return desc

    def encode_any(self, obj, refs, depth):
        try:
            return self.codec._enc(obj, refs, depth)
        except BaseException:
            hid = id(obj)
            self.handles[hid] = obj
            return {"h": hid, "c": self.class_key(type(obj))}

    def send(self, msg):
        _flush()
        wire.send_msg(self.to_judge, msg)

    # -- the judge's requests ---------------------------------------------------------------------------------
    def serve_forever(self):
        while True:
            self.send(self.handle(wire.recv_msg(self.from_judge)))

    def handle(self, msg):
        back = {}
        limit = sys.getrecursionlimit()
        try:
            op = msg["op"]
            sys.setrecursionlimit(max(limit, 4 * wire.MAX_DEPTH + 1000))  # deep values; the program keeps its own
            try:
                target = self.codec.decode(msg["t"], back)
                args = [self.codec.decode(a, back) for a in msg.get("a", [])]
                kwargs = {k: self.codec.decode(v, back) for k, v in (msg.get("k") or {}).items()}
            finally:
                sys.setrecursionlimit(limit)
            snapshots = [(n, wire.Snapshot(o)) for n, o in back.items() if wire.is_mutable(o)]
            warned = self.warned = []
            result = _perform(op, target, msg, args, kwargs)
            refs = {id(o): [n, o] for n, o in back.items()}
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, 4 * wire.MAX_DEPTH + 1000))
            try:
                reply = {"ok": self.encode_any(result, refs, 0)}
                sync = [[n, wire.encode_contents(self.codec, s.obj, refs)] for n, s in snapshots if s.changed()]
            finally:
                sys.setrecursionlimit(limit)
            if sync:
                reply["s"] = sync
            if warned:  # raised again in the judge, where pytest.warns can see them
                reply["w"] = warned[:20]
            if op == "get" and type(result) in (list, dict, set):  # the judge may change it in place later
                self.handles[id(result)] = result
                reply["live"] = id(result)
            return reply
        except BaseException as exc:
            return {"exc": self.exception(exc)}

    def exception(self, exc):
        return {"e": self.encode_any(exc, {}, 0), "tb": _trimmed_traceback(exc)}

    # -- calls into the judge (handed objects) ----------------------------------------------------------------
    def request_args(self, op, proxy, args, kwargs, **extra):
        refs = {}
        msg = {"op": op, "t": {"j": object.__getattribute__(proxy, "_jid")},
               "a": [self.encode_any(a, refs, 0) for a in args],
               "k": {k: self.encode_any(v, refs, 0) for k, v in kwargs.items()}, **extra}
        return self.request(msg, refs)

    def request(self, msg, refs=None):
        self.send(msg)
        while True:
            reply = wire.recv_msg(self.from_judge)
            if "op" in reply:
                self.send(self.handle(reply))
                continue
            back = {n: o for n, o in (refs or {}).values()}
            for number, contents in reply.get("s", ()):
                target = back[number]
                wire.update_in_place(target, self.codec.decode(contents, dict(back)))
            if "ok" in reply:
                return self.codec.decode(reply["ok"], back)
            exc = reply.get("exc") or {}
            cls = getattr(builtins, str(exc.get("t")), None)
            if not (isinstance(cls, type) and issubclass(cls, Exception)):
                cls = Exception
            raise cls(str(exc.get("m", "")))


def _perform(op, target, msg, args, kwargs):
    if op == "call":
        return target(*args, **kwargs)
    if op == "callm":
        name = msg["m"]
        if name.startswith("__"):  # implicit special-method lookup, as Python does it: on the type
            return getattr(type(target), name)(target, *args, **kwargs)
        return getattr(target, name)(*args, **kwargs)
    if op == "get":
        return getattr(target, msg["n"])
    if op == "set":
        return setattr(target, msg["n"], args[0])
    if op == "fields":
        return tuple(getattr(target, n) for n in msg["n"])
    if op == "value":
        return _value_of(target, msg["n"])
    if op == "copy":
        import copy
        return copy.deepcopy(target) if msg.get("n") == "deepcopy" else copy.copy(target)
    if op == "await":
        import asyncio
        return asyncio.run(target)
    raise ValueError(f"unknown request {op!r}")


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _trimmed_traceback(exc):
    """Only the program's own frames (solution.py), so feedback shows what the model wrote."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "solution.py"]
        lines = traceback.format_list(frames[-8:]) + traceback.format_exception_only(type(exc), exc)
        return "".join(lines)[-4000:]
    except BaseException:
        return ""


def _vm_size():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limits(memory_mb, timeout_s):
    mem = _vm_size() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(timeout_s) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(from_judge, to_judge):
    try:
        with open("/proc/self/oom_score_adj", "w") as f:  # if the container runs short of memory, die first
            f.write("1000")
    except OSError:
        pass
    job = wire.recv_msg(from_judge)
    if job.get("stdio"):
        return serve_programs(from_judge, to_judge)
    _limits(job["memory_mb"], job["timeout_s"])
    try:
        code = compile(job["program"], "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        wire.send_msg(to_judge, {"syntax_error": {"line": getattr(exc, "lineno", 0) or 0,
                                                  "col": getattr(exc, "offset", 0) or 0,
                                                  "msg": getattr(exc, "msg", str(exc))[:500]}})
        return
    module = types.ModuleType("solution")
    module.__file__ = "solution.py"
    sys.modules["solution"] = module
    side = CandidateSide(from_judge, to_judge)
    try:
        exec(code, module.__dict__)
    except BaseException as exc:  # SystemExit included: exiting at import is an error, not a pass
        side.send({"load_error": {"type": type(exc).__name__, "msg": _safe_str(exc), "tb": _trimmed_traceback(exc)}})
        return
    names = {}
    for name, value in list(module.__dict__.items()):
        if not name.startswith("__") or name == "__all__":
            names[name] = side.encode_any(value, {}, 0)
    side.send({"loaded": names, "module": side.encode_any(module, {}, 0)})
    side.serve_forever()


def warm_up():
    """Run this side's code once in the judge, before any fork. Python specializes bytecode as it runs, so every
    candidate then starts with these paths ready instead of paying for that on its first calls."""
    saved = warnings.showwarning, list(warnings.filters)
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    try:
        side = CandidateSide(r1, w2)

        def sample(a, b=2, *rest):
            return [a, b, *rest]

        @dataclasses.dataclass
        class Sample:
            x: int = 1

            def twice(self, items):
                items.append(self.x)
                return {"n": len(items), "t": (self.x, 2.5)}

        for obj in (sample, Sample, Sample(), ValueError("x"), math):
            side.encode_any(obj, {}, 0)
        fn, cls, inst = side.handles[id(sample)], Sample, Sample()
        side.handles.update({id(fn): fn, id(cls): cls, id(inst): inst})
        for _ in range(3):
            for msg in ({"op": "call", "t": {"h": id(fn)}, "a": [1, {"f": (0.5).hex()}, "s", None], "k": {}},
                        {"op": "callm", "t": {"h": id(inst)}, "m": "twice", "a": [{"l": [1, 2], "ref": 0}], "k": {}},
                        {"op": "get", "t": {"h": id(inst)}, "n": "x"}, {"op": "call", "t": {"h": id(cls)}, "a": []},
                        {"op": "callm", "t": {"h": id(inst)}, "m": "__repr__", "a": []}):
                wire.dumps(side.handle(json.loads(json.dumps(msg))))
    finally:
        warnings.showwarning, warnings.filters[:] = saved[0], saved[1]
        for fd in (r1, w1, r2, w2):
            os.close(fd)


# ---------------------------------------------------------------------------------------------------------------
# Whole programs (stdio tests): this process never runs the program itself; it forks one child per case.


def serve_programs(from_judge, to_judge):
    while True:
        req = wire.recv_msg(from_judge)
        wire.send_msg(to_judge, run_program(req["program"], req["stdin"], float(req["timeout_s"]),
                                            int(req["memory_mb"])))


def run_program(program, stdin_text, timeout_s, memory_mb, max_bytes=8 << 20):
    stdin_fd = os.memfd_create("stdin")
    data = stdin_text.encode()
    while data:
        data = data[os.write(stdin_fd, data):]
    os.lseek(stdin_fd, 0, os.SEEK_SET)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.setpgid(0, 0)
            for fd, target in ((stdin_fd, 0), (out_w, 1), (err_w, 2)):
                os.dup2(fd, target)
            os.closerange(3, 1024)
            sys.stdin = open(0, "r", closefd=False)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            _limits(memory_mb, timeout_s)
            status = _run_main(program)
        finally:
            _flush()
            os._exit(status)
    for fd in (stdin_fd, out_w, err_w):
        os.close(fd)
    chunks = {out_r: bytearray(), err_r: bytearray()}
    open_fds, timed_out = {out_r, err_r}, False
    deadline = started + timeout_s
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(list(open_fds), [], [], remaining)
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                open_fds.discard(fd)
            elif len(chunks[fd]) < max_bytes:
                chunks[fd] += chunk[:max_bytes - len(chunks[fd])]
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - started
    for fd in (out_r, err_r):
        os.close(fd)
    return {"stdout": base64.b64encode(bytes(chunks[out_r])).decode(),
            "stderr": bytes(chunks[err_r][-4000:]).decode("utf-8", "replace"),
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "timed_out": timed_out, "time": round(elapsed, 4)}


def _run_main(program):
    try:
        code = compile(program, "solution.py", "exec", dont_inherit=True)
        exec(code, {"__name__": "__main__", "__builtins__": builtins, "__file__": "solution.py"})
        return 0
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        print(code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
