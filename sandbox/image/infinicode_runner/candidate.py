"""The candidate process: it runs the untrusted program and answers the judge's requests on its objects.

Forked by the judge before a job (and its secret) arrives. Once the program is loaded, everything in this
process is untrusted, this module included (the program may patch it): that is why the judge checks every reply
and decides every verdict itself. This side describes classes honestly so that honest programs behave as Python
objects to the tests; a lying description can only make the candidate's own objects behave worse.
"""

from __future__ import annotations

import builtins
import dataclasses
import importlib
import inspect
import json
import logging
import math
import os
import signal
import sys
import threading
import types
import warnings

from . import codec as wire
from . import framing, in_place, log_records, pickling, program_exceptions, state, subclass_values
from .describe import describe, is_namedtuple, library_name
from .kept import KeptInStep
from .program_ops import perform
from .programs import flush, serve_programs, set_limits
from .stdin import TestsStdin
from .tests_objects import (
    JUDGE_KINDS,
    TESTS_CLASSES,
    TESTS_EXCEPTION_CLASSES,
    TESTS_LIVE,
    TESTS_LIVE_TYPES,
    JudgeFunction,
    JudgeObject,
    JudgeProxy,
    exception_from_judge,
    specced,
    tests_class,
    tests_exception_class,
)

# Signals whose handlers the program may set: delivered to it only while its code runs (between the pipe's
# messages), never while a message is half read or written.
DEFERRED_SIGNALS = {signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT,
                    signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGIO, signal.SIGWINCH}

MAX_KEPT_RETURNED = 8  # containers of one returned value kept in step (more: only the outermost)


class CandidateHooks:
    def __init__(self, side):
        self.side = side

    def out(self, obj, refs, depth):
        side = self.side
        t = type(obj)
        if t in TESTS_LIVE_TYPES and type(obj.__dict__.get("_ic_tests")) is tuple:  # their own container again
            return {"j": obj.__dict__["_ic_tests"][1]}
        if issubclass(t, JudgeObject):  # (its real type: kinds of it too, JUDGE_KINDS, and the tests' classes)
            return {"j": object.__getattribute__(obj, "_jid")}
        if isinstance(obj, BaseException) and type(getattr(obj, "__dict__", {}).get("_ic_jid")) is int:
            return {"j": obj.__dict__["_ic_jid"]}
        if isinstance(obj, type) and (obj in TESTS_EXCEPTION_CLASSES.values() or obj in TESTS_CLASSES.values()):
            return {"j": obj.__dict__["_ic_class_jid"]}  # a class the tests handed over
        if t.__module__ != "numpy" and "numpy" in sys.modules and isinstance(obj, sys.modules["numpy"].ndarray):
            # Arrays are values: a subclass crosses as its data (np.asarray), its own methods stay behind.
            return side.codec._enc(obj.view(sys.modules["numpy"].ndarray), refs, depth)
        if is_namedtuple(t):
            return {"nt": [side.class_key(t), [side.codec._enc(x, refs, depth + 1) for x in tuple.__iter__(obj)]]}
        name = library_name(obj)
        if name is not None:
            return {"lib": name}
        hid = id(obj)
        side.handles[hid] = obj
        if isinstance(obj, type):
            return {"h": hid, "C": side.class_key(obj)}
        data = {"h": hid, "c": side.class_key(t)}
        if t is types.GeneratorType and inspect.getgeneratorstate(obj) == inspect.GEN_SUSPENDED:
            data["started"] = True  # primed by the program (`next(g)`): the tests may send to it at once
        base = subclass_values.immutable_base(t)
        if base is not None and not isinstance(obj, BaseException):  # the value it holds, for the judge's mirror
            data["v"] = side.codec._enc(subclass_values.value_inside(obj, base), None, depth + 1)
        elif wire.container_base(t) is not None:  # its contents, kept in step (kept.py)
            first = side.first_crossing.get(hid)
            if first is None and hid not in side.offered:
                try:
                    contents = side.codec._enc(wire.plain_contents(obj), None, depth + 1)
                except (ValueError, TypeError, RecursionError):  # nested too deeply, or holding itself
                    contents = None
                first = side.first_crossing[hid] = (side.keep_program_container(obj, contents), contents)
            if first is not None and first[0] is not None:  # each place it has in the message it first crosses
                data["kv"], data["v"] = first  # in: the judge may decode any of them first
        if isinstance(obj, BaseException):
            program_exceptions.describe(side, obj, data, refs, depth)
        return data

    def back(self, data, refs, depth):
        side = self.side
        if "h" in data:
            return side.handles[data["h"]]
        if "j" in data:
            jid = data["j"]
            proxy = side.judge_proxies.get(jid)
            if proxy is None and "exc" in data:  # an exception class of the tests: a class here too
                proxy = side.judge_proxies[jid] = tests_exception_class(side, data["exc"])
            if proxy is None and "tcls" in data:  # a class of the tests
                proxy = side.judge_proxies[jid] = tests_class(side, data["tcls"])
            if proxy is None and "tc" in data:  # an object of a class of the tests: of that class here
                proxy = object.__new__(tests_class(side, data["tc"]))
                JudgeObject.__init__(proxy, side, jid)
                side.judge_proxies[jid] = proxy
            if proxy is None:
                fn = data.get("fn")
                if type(fn) is list and len(fn) == 3 and all(type(x) is str for x in fn[:2]) \
                        and (fn[2] is None or type(fn[2]) is str):
                    proxy = JudgeFunction(side, jid, *fn)
                else:
                    kind = JUDGE_KINDS.get(data.get("kind"), JudgeProxy)
                    spec = side.handles.get(data["spec"]) if type(data.get("spec")) is int else None
                    proxy = (specced(kind, spec) if isinstance(spec, type) else kind)(side, jid)
                side.judge_proxies[jid] = proxy
            return proxy
        if "n" in data:
            module, qualname = data["n"]
            found = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
            return found
        if "mod" in data:
            return importlib.import_module(data["mod"])
        if "wrap" in data:  # a staticmethod or classmethod of the tests' function, patched onto a class
            kind, inner = data["wrap"]
            return {"staticmethod": staticmethod, "classmethod": classmethod}[kind](
                self.back(inner, refs, depth + 1))
        if "lv" in data:  # a list, dict or set of the tests' object (`node.neighbors`): changes reach theirs
            jid, contents = data["lv"]
            value = side.codec._dec(contents, refs, depth + 1)
            if type(jid) is not int or type(value) not in TESTS_LIVE:
                raise ValueError("malformed container of the tests")
            live = TESTS_LIVE[type(value)](value)
            live.__dict__["_ic_tests"] = (side, jid)
            return live
        if "rec" in data:  # a log record of the tests, for the program's handler
            values = side.codec._dec(data["rec"], refs, depth + 1)
            return logging.makeLogRecord(values if type(values) is dict else {})
        if "bm" in data:  # a method of the program's object (or class), read there as the tests read it here
            hid, name = data["bm"]
            return getattr(side.handles[hid], str(name))
        if "nt" in data:
            cls = side.handles[data["nt"][0]]
            return cls._make(side.codec._dec(x, refs, depth + 1) for x in data["nt"][1])
        raise ValueError("unknown value tag")


class CandidateSide(KeptInStep):
    """This process's end of the pipes: it serves the judge and calls back into the judge for handed objects."""

    def __init__(self, from_judge, to_judge):
        self.from_judge, self.to_judge = from_judge, to_judge
        self.handles = {}
        self.described = set()
        self.described_log = []  # described in this order (encode_any undoes a failed encoding's)
        self.judge_proxies = {}
        self.kept = {}  # key -> Snapshot of a container kept in step with the judge (kept.py)
        self.next_key = 0
        self.program_keys, self.offered = set(), set()  # the program's list/dict/set subclasses among them
        self.first_crossing = {}  # handle -> (key, contents) of those crossing in the message being written
        self.codec = wire.Codec(CandidateHooks(self))
        self.warned = []
        self.lock = threading.RLock()
        # Every warning the program issues during a call is kept for the reply (a hook set once: cheaper than
        # catching warnings around each call); the judge's own filters decide what is shown.
        warnings.simplefilter("always")
        warnings.showwarning = self._keep_warning
        # input() and sys.stdin read the tests' standard input (monkeypatched input, or a StringIO stdin).
        builtins.input = lambda prompt=None: self.request({"op": "stdin", "n": "input", "a": prompt})
        sys.stdin = TestsStdin(self)

    def _keep_warning(self, message, category, *_args, **_kwargs):
        kept = [getattr(category, "__name__", "UserWarning"), program_exceptions.safe_str(message)]
        if isinstance(message, Warning) and getattr(builtins, kept[0], None) is not category:
            try:  # a category of the program's own: the warning itself, so pytest.warns(TheirWarning) matches
                kept.append(self.encode_any(message, {}, 0))
            except Exception:
                pass
        self.warned.append(kept)

    def class_key(self, cls):
        cid = id(cls)
        if cid in self.described:
            return cid
        self.described.add(cid)
        self.described_log.append(cid)
        self.handles[cid] = cls
        try:
            desc = describe(cls, self.class_key)
            if "nt_defaults_for" in desc:
                defaults = cls._field_defaults
                desc["nt_defaults"] = [self.encode_any(defaults[f], {}, 0) for f in desc.pop("nt_defaults_for")]
        except BaseException:  # a class this side cannot make sense of: its objects compare by identity
            desc = {"name": program_exceptions.safe_str(getattr(cls, "__name__", "object")), "module": "", "bases": [],
                    "eq": "identity", "hash": "identity", "order": "none", "dunders": [], "methods": []}
        desc["id"] = cid
        return desc

    def encode_any(self, obj, refs, depth):
        marks = (len(self.described_log), self.next_key, len(refs) if refs is not None else 0)
        try:
            return self.codec._enc(obj, refs, depth)
        except BaseException:
            self._undo_encoding(marks, refs)
            hid = id(obj)
            self.handles[hid] = obj
            return {"h": hid, "c": self.class_key(type(obj))}

    def _undo_encoding(self, marks, refs):
        """What an encoding that failed half-way noted as sent, though the judge never gets it: the classes it
        described, the program containers it offered and the containers it numbered. Else a later message would
        name them by number alone, and the judge would not know them."""
        described, next_key, numbered = marks
        for cid in self.described_log[described:]:
            self.described.discard(cid)
        del self.described_log[described:]
        for key in range(next_key + 1, self.next_key + 1):
            if key in self.program_keys:
                hid = id(self.kept.pop(key).obj)
                self.program_keys.discard(key)
                self.offered.discard(hid)
                self.first_crossing.pop(hid, None)
        if refs is not None:
            for k in [k for k, (n, _) in refs.items() if n >= numbered]:
                del refs[k]

    def send(self, msg):
        flush()
        framing.send_msg(self.to_judge, msg)
        self.first_crossing.clear()

    # -- the judge's requests ---------------------------------------------------------------------------------
    def serve_forever(self):
        # The lock makes each exchange on the pipe one thread's: the program's threads may call the tests' callbacks
        # while this thread runs the program (ThreadPoolExecutor.map over a callback). It is not held while the
        # program runs here, or those threads could never call back.
        signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED_SIGNALS)  # (delivered while the program runs: perform)
        while True:
            with self.lock:
                msg = framing.recv_msg(self.from_judge)
            reply = self.handle(msg)
            with self.lock:
                self.send(reply)

    def handle(self, msg):
        self._release(msg.get("kr"))
        self._let_go(msg.get("hr"))
        rng = process = None
        back = {-key: snap.obj for key, snap in self.kept.items()}  # the tests' containers the program keeps
        snapshots = []
        try:
            op = msg["op"]
            if "ctx" in msg:  # what the tests changed in their process since the last request (state.py)
                state.apply(msg["ctx"], lambda value: self.codec.decode(value, {}))
            limit = sys.getrecursionlimit()
            state.REAL_SET_RECURSION(max(limit, 4 * wire.MAX_DEPTH + 1000))  # deep values; the program keeps its own
            try:
                kx_refs = {-key: snap.obj for key, snap in self.kept.items()}  # (numbered apart from the request's)
                for key, contents in msg.get("kx", ()):  # the tests changed a container the program keeps
                    in_place.update_in_place(self.kept[key].obj, self.codec.decode(contents, kx_refs))
                    self.kept[key] = in_place.Snapshot(self.kept[key].obj)
                kx_refs.clear()  # (else what the program let go of looks held until the reply: _drop_unused)
                target = self.codec.decode(msg["t"], back)
                args = [self.codec.decode(a, back) for a in msg.get("a", [])]
                kwargs = {k: self.codec.decode(v, back) for k, v in (msg.get("k") or {}).items()}
            finally:
                state.REAL_SET_RECURSION(limit)
            snapshots = [(n, self.kept[-n] if n < 0 else in_place.Snapshot(o)) for n, o in back.items()
                         if n < 0 or wire.is_mutable(o)]
            fresh = [(n, o) for n, o in back.items() if n >= 0 and wire.is_mutable(o)]
            counts = [sys.getrefcount(o) for _, o in fresh]
            warned = self.warned = []
            log_records.LOGGED.clear()
            rng = state.rng_before_call()
            process = state.process_view()
            target_class = type(target)
            mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, DEFERRED_SIGNALS)
            try:
                result = perform(op, target, msg, args, kwargs, self)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # (blocked again between messages)
            refs = {id(o): [n, o] for n, o in back.items()}
            first_new = len(refs)  # numbers the result's own containers get as they are encoded
            limit = sys.getrecursionlimit()
            state.REAL_SET_RECURSION(max(limit, 4 * wire.MAX_DEPTH + 1000))
            try:
                reply = {"ok": self.encode_any(result, refs, 0)}
            finally:
                state.REAL_SET_RECURSION(limit)
            if op == "get":  # `grid.cells[0][1] = "X"`: the containers inside an attribute stay in step with ours
                top = id(result) if type(result) in (list, dict, set) else None  # that one goes live (below)
                self._keep(reply, [(n, o) for n, o in refs.values()
                                   if n >= first_new and id(o) != top and wire.is_mutable(o)])
            elif type(result) in (list, dict, set) and refs.get(id(result), (-1,))[0] >= first_new:
                # a container the program made and may change after returning it (`with timer() as t` fills t
                # on exit; `log.items()` grows): kept in step while the program holds it (let go below if not),
                # with the few containers inside it (`{"open": True, "log": []}`)
                inside = [(n, o) for n, o in refs.values() if n >= first_new and wire.is_mutable(o)]
                self._keep(reply, inside if len(inside) <= MAX_KEPT_RETURNED else [tuple(refs[id(result)])])
            self._sync(reply, snapshots, refs)
            if warned:  # raised again in the judge, where pytest.warns can see them
                reply["w"] = warned[:20]
            if type(target) is not target_class and self.handles.get(id(target)) is target:
                reply["tc"] = [id(target), self.class_key(type(target))]  # `self.__class__ = Open` (state pattern)
            if log_records.LOGGED:  # logged again in the judge, where caplog can see them
                reply["l"] = log_records.records_out(lambda x: self.encode_any(x, {}, 0), self.exception)
            if (rng := state.rng_after_call(rng)) is not None:  # the program drew from the seeded generators
                reply["rng"] = rng
            if (changed := state.process_changes(process)) is not None:  # its directory, its environment
                reply["ps"] = changed
            if op == "get" and type(result) in (list, dict, set):  # the judge may change it in place later
                self.handles[id(result)] = result
                reply["live"] = id(result)
            result = refs = None
            self._keep_retained(reply, fresh, counts)
        except BaseException as exc:
            reply = {"exc": self.exception(exc)}
            if (rng := state.rng_after_call(rng)) is not None:
                reply["rng"] = rng
            if process is not None and (changed := state.process_changes(process)) is not None:
                reply["ps"] = changed
            self._sync(reply, snapshots, {id(o): [n, o] for n, o in back.items()})
            if self.warned:  # what the program warned and logged before it raised counts too
                reply["w"] = self.warned[:20]
            if log_records.LOGGED:
                reply["l"] = log_records.records_out(lambda x: self.encode_any(x, {}, 0), self.exception)
        back.clear()
        self._drop_unused(reply)
        return reply

    def exception(self, exc):
        return {"e": self.encode_any(exc, {}, 0), "tb": program_exceptions.trimmed_traceback(exc)}

    # -- calls into the judge (handed objects) ----------------------------------------------------------------
    def request_args(self, op, proxy, args, kwargs, **extra):
        return self.request_on(object.__getattribute__(proxy, "_jid"), op, args, kwargs, **extra)

    def request_on(self, jid, op, args, kwargs, **extra):
        with self.lock:
            refs = {}
            msg = {"op": op, "t": {"j": jid}, "a": [self.encode_any(a, refs, 0) for a in args],
                   "k": {k: self.encode_any(v, refs, 0) for k, v in kwargs.items()}, **extra}
            return self.request(msg, refs)

    def request(self, msg, refs=None):
        # The program's signal handlers (a timeout by SIGALRM) run after the exchange, never in its middle, which
        # would leave a reply on the pipe for the next one.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED_SIGNALS)
        try:
            return self._request(msg, refs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _request(self, msg, refs=None):
        with self.lock:  # one request and its reply at a time, whichever thread of the program asks
            self.send(msg)
            while True:
                reply = framing.recv_msg(self.from_judge)
                if "op" in reply:
                    self.send(self.handle(reply))
                    continue
                back = {n: o for n, o in (refs or {}).values()}
                for number, contents in reply.get("s", ()):
                    target = back[number]
                    in_place.update_in_place(target, self.codec.decode(contents, dict(back)))
                if "ok" in reply:
                    return self.codec.decode(reply["ok"], back)
                raise self.judge_exception(reply.get("exc") or {})

    def judge_exception(self, desc):
        """The exception the judge described (a callback of the tests raised it, or the tests threw it)."""
        return exception_from_judge(self, desc)


def main(from_judge, to_judge):
    sys.setrecursionlimit = state.REAL_SET_RECURSION  # the judge's wrapper (state.py) is for the tests, not here
    try:
        with open("/proc/self/oom_score_adj", "w") as f:  # if the container runs short of memory, die first
            f.write("1000")
    except OSError:
        pass
    job = framing.recv_msg(from_judge)
    if job.get("stdio"):
        return serve_programs(from_judge, to_judge)
    set_limits(job["memory_mb"], job["timeout_s"])
    try:
        code = compile(job["program"], "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        framing.send_msg(to_judge, {"syntax_error": {"line": getattr(exc, "lineno", 0) or 0,
                                                     "col": getattr(exc, "offset", 0) or 0,
                                                     "msg": getattr(exc, "msg", str(exc))[:500]}})
        return
    pickling.restore()  # the program's pickle is Python's own (the judge's refuses to build what it does not know)
    module = types.ModuleType("solution")
    module.__file__ = "solution.py"
    sys.modules["solution"] = module
    side = CandidateSide(from_judge, to_judge)
    before = state.process_view()
    try:
        exec(code, module.__dict__)
    except BaseException as exc:  # SystemExit included: exiting at import is an error, not a pass
        side.send({"load_error": {"type": type(exc).__name__, "msg": program_exceptions.safe_str(exc),
                                  "tb": program_exceptions.trimmed_traceback(exc)}})
        return
    names = {}
    for name, value in list(module.__dict__.items()):
        if not name.startswith("__") or name in ("__all__", "__doc__"):
            names[name] = side.encode_any(value, {}, 0)
    loaded = {"loaded": names, "module": side.encode_any(module, {}, 0)}
    if (changed := state.process_changes(before)) is not None:  # what its import set (`getcontext().prec = 6`)
        loaded["ps"] = changed
    side.send(loaded)
    side.serve_forever()


def warm_up():
    """Run this side's code once in the judge, before any fork. Python specializes bytecode as it runs, so every
    candidate then starts with these paths ready instead of paying for that on its first calls."""
    saved = warnings.showwarning, list(warnings.filters), builtins.input, sys.stdin
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
                framing.dumps(side.handle(json.loads(json.dumps(msg))))
    finally:
        warnings.showwarning, warnings.filters[:], builtins.input, sys.stdin = saved[0], saved[1], saved[2], saved[3]
        for fd in (r1, w1, r2, w2):
            os.close(fd)

