"""The judge's end of the boundary: the connection to one candidate process.

It carries requests (calls, attributes, iteration) and their replies, serves the candidate's requests on objects
the tests handed over (handover.py), keeps the job's time, and carries the tests' process state (state.py). Its
other parts: the judge's classes for the program's (mirrors.py), and the comparisons of the program's objects,
decided here, never by the candidate alone (compare.py).
"""

from __future__ import annotations

import builtins
import codecs
import os
import select
import struct
import sys
import threading
import time
import warnings

from . import codec as wire
from . import framing, in_place, live
from .compare import Comparisons
from .handover import JudgeHooks, follow_class_change, judge_exception, judge_op, tests_own
from .kept_here import KeptHere
from .log_records import MAX_RECORDS, log_again
from .mirrors import Mirrors
from .proxies import (
    LIVE,
    MAX_NESTING,
    MAX_OUTPUT,
    CandidateGone,
    Deadline,
    RemoteObject,
    Unsupported,
)
from .state import TestsState, take_process_changes

# ---------------------------------------------------------------------------------------------------------------
# The connection.


class Connection(Mirrors, Comparisons, KeptHere):
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
        self.valueless = {}  # mirror class -> the same without its value type (mirrors.py: _valueless)
        self.judge_objects = {}  # handle -> judge object the candidate may use
        self.live_containers = set()  # ids of the tests' containers the candidate holds live copies of
        self.named_in_tests = set()  # the names the tests' code uses (server.py)
        self.program_source = None  # the program's text, for inspect.getsource of its functions (server.py)
        # key -> a container here kept in step with one of the program's: a test's container the program keeps a
        # reference to, or one inside a program attribute the tests read (candidate.py decides which)
        self.kept = {}
        self.kept_seen = {}  # key -> Snapshot of it as the program last saw it
        self.program_kept = {}  # key -> handle of a mirror of the program's list/dict/set subclass among them
        self.let_go = []  # handles of program objects no test holds any more, for the next request ("hr")
        self.unsupported = []  # constructs that made the verdict undecidable
        self.nesting = 0
        self.forward = False  # copy the candidate's output to sys.stdout/err as it comes (pytest capture)
        self._resp = bytearray()
        self.module = None
        self.state = TestsState()  # the tests' environment, cwd, argv and random seed, as the candidate has them
        self.lock = threading.RLock()  # a callback may call the program again from the same thread
        self.busy = 0  # requests under way (a generator collected meanwhile must not start one)
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
                if len(self._resp) > framing.MAX_MESSAGE + 4:
                    raise CandidateGone("the candidate sent an oversized reply")
            elif chunk:
                self._keep(fd, chunk)
            else:
                self.open_streams.discard(fd)
        return bool(writable)

    def send(self, obj):
        try:
            payload = memoryview(framing.dumps(obj))
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
        if n > framing.MAX_MESSAGE:
            raise CandidateGone("the candidate sent an oversized reply")
        while len(self._resp) < 4 + n:
            self._wait()
        data = bytes(self._resp[4:4 + n])
        del self._resp[:4 + n]
        if self.forward and self.open_streams:  # output written before the reply is in the pipes now: pass it on
            self._wait(timeout=0)
        try:
            reply = framing.JSON_LOADS(data)
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
            self.busy += 1
            try:
                changed = self.state.changes(self.encode_handed)
                if changed:
                    msg["ctx"] = changed
                if self.program_kept:
                    self._release_unused(msg, refs)
                if self.let_go:
                    msg["hr"], self.let_go = self.let_go, []
                if self.kept:
                    self._send_kept_changes(msg)
                self.send(msg)
                while True:
                    reply = self.receive()
                    if "op" in reply:
                        self.send(self.serve(reply))
                        continue
                    return self._result(reply, refs)
            finally:
                self.busy -= 1

    def judge_exception(self, exc):
        """An exception of the tests, described for the program (g.throw in the tests, a callback that raised)."""
        return judge_exception(exc, self)

    def request_raw(self, msg):
        """One request whose reply is plain data (whole-program runs)."""
        self.send(msg)
        return self.receive()

    def _result(self, reply, refs):
        back = {-key: obj for key, obj in self.kept.items()}
        if refs:
            back.update((n, obj) for n, obj in refs.values())
        raised = None  # a warning the tests' filters turn into an error: the call raises it, as in one process
        try:
            # the value first: the changes to the call's containers may hold containers of the value by reference
            # (a dict subclass's __missing__ stores the list it returns)
            value = self.codec.decode(reply["ok"], back) if "ok" in reply else None
            for number, contents in reply.get("s", ()):
                in_place.update_in_place(back[number], self.codec.decode(contents, back))
            self.state.take_rng(reply.get("rng"))
            if "ps" in reply:
                take_process_changes(reply["ps"], self.state)
            if type(reply.get("tc")) is list and len(reply["tc"]) == 2 and reply["tc"][0] in self.proxies:
                follow_class_change(self.proxies[reply["tc"][0]], self.mirror(reply["tc"][1]))
            for category, message, *own in reply.get("w", ()):
                raised = warn_again(str(category), str(message), self.codec.decode(own[0], {}) if own else None) \
                    or raised
            for record in reply.get("l", ())[:MAX_RECORDS]:
                if self.state.records_left > 0:  # a job's records are bounded: they stay in pytest's memory
                    self.state.records_left -= 1
                    log_again(record, lambda data: self.codec.decode(data, {}))
            if "ok" in reply:
                self._keep_in_step(reply, back)  # after the value: it may hold containers the program keeps
                if raised is None and type(reply.get("live")) is int and type(value) in LIVE:
                    live = LIVE[type(value)](value)
                    live.__dict__["_ic_live"] = (self, reply["live"])
                    return live
                if raised is None:
                    return value
            else:
                exc = reply.get("exc")
                error = self.codec.decode(exc["e"], back) if type(exc) is dict else None
                self._keep_in_step(reply, back)
        except (Deadline, CandidateGone, Unsupported):
            raise
        except Exception as err:
            raise CandidateGone(f"the candidate sent a malformed value ({type(err).__name__}: {err})"[:300]) from None
        if raised is not None:
            raise raised
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
        refs = self._refs()
        a, k = self._args(args, kwargs, refs)
        return self.request({"op": "call", "t": self._target(target), "a": a, "k": k}, refs)

    def callm(self, target, name, args, kwargs=None):
        refs = self._refs()
        a, k = self._args(args, kwargs, refs)
        return self.request({"op": "callm", "t": self._target(target), "m": name, "a": a, "k": k}, refs)

    def call_unbound(self, cls, name, obj, args, kwargs):
        """cls.name(obj, *args) in the program: a method of the program's class itself (super() from the tests)."""
        refs = self._refs()
        a, k = self._args((obj, *args), kwargs, refs)
        return self.request({"op": "unbound", "t": {"h": cls._ic_hid}, "m": str(name), "a": a, "k": k}, refs)

    def attributes(self, target):
        """The program object's attributes as Python stores them (None where its class hides them)."""
        return self.request({"op": "attrs", "t": self._target(target)})

    def ordered(self, target, other, op):
        """`target op other` evaluated by the program (its own ordering methods)."""
        refs = self._refs()
        a, _ = self._args([other], None, refs)
        return self.request({"op": "order", "t": self._target(target), "n": op, "a": a}, refs)

    def get(self, target, name):
        return self.request({"op": "get", "t": self._target(target), "n": name})

    def set(self, target, name, value):
        refs = self._refs()
        a, _ = self._args([value], None, refs)
        return self.request({"op": "set", "t": self._target(target), "n": name, "a": a}, refs)

    def fields(self, target, names):
        return self.request({"op": "fields", "t": self._target(target), "n": list(names)})

    def value(self, target):
        """The builtin value inside an instance of a subclass of a value type (a list subclass, an IntFlag...): an
        immutable one arrived with the object (mirrors.py)."""
        try:
            return object.__getattribute__(target, "_ic_plain")
        except AttributeError:
            pass
        return self.request({"op": "value", "t": self._target(target), "n": type(target)._ic_desc.get("value")})

    def text(self, target, dunder):
        value = self.callm(target, dunder, ())
        if type(value) is not str:
            raise TypeError(f"{dunder} returned {type(value).__name__}, not str")
        return value

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

    # -- the candidate's requests on judge objects ----------------------------------------------------------
    def _encode_live(self, container, refs, budget):
        """A container of the tests' as the candidate's live copy of it ({"lv": [id, contents]})."""
        self.judge_objects[id(container)] = container
        self.live_containers.add(id(container))
        if type(container) is list:
            contents = {"l": [self._encode_inside(x, refs, budget) for x in container]}
        elif type(container) is dict:
            contents = {"d": [[self.codec.encode(k, refs), self._encode_inside(v, refs, budget)]
                              for k, v in container.items()]}
        else:
            contents = self.codec.encode(container, refs)
        return {"lv": [id(container), contents]}

    def _encode_inside(self, item, refs, budget):
        if type(item) in (list, dict, set) and budget[0] > 0:
            budget[0] -= 1
            return self._encode_live(item, refs, budget)
        return self.codec.encode(item, refs)

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
        snapshots = [(n, in_place.Snapshot(o)) for n, o in back.items() if wire.is_mutable(o)]
        try:
            op, name = msg.get("op"), str(msg.get("m") or msg.get("n") or "")
            if op == "callm" and id(target) in self.live_containers and live.allowed(target, name):
                result = getattr(target, name)(*args, **kwargs)  # a change the program made to its live copy
            else:
                result = judge_op(op, target, name, args, kwargs)
            enc_refs = {id(o): [n, o] for n, o in back.items()}
            if op == "get" and type(result) in (list, dict, set) and tests_own(target):
                # an attribute of the tests' object (`node.neighbors`, `board.grid[r][c] = "X"`): a live copy there,
                # the lists and dicts inside it too, changed as theirs are
                return {"ok": self._encode_live(result, enc_refs, [MAX_LIVE_INSIDE])}
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
            return {"exc": self.judge_exception(exc)}
        except BaseException as exc:
            return {"exc": self.judge_exception(exc)}
        finally:
            self.nesting -= 1


MAX_LIVE_INSIDE = 1000  # containers inside one attribute's that go live with it (a grid's rows)


def _read_stdin(kind, arg):
    if kind == "input":  # the tests may have patched builtins.input or sys.stdin; the prompt goes to their stdout
        return builtins.input(str(arg)[:1000] if arg is not None else "")
    size = arg if type(arg) is int and arg >= 0 else -1  # read(3), readline(2)
    if kind == "readline":
        return sys.stdin.readline(size)
    return sys.stdin.read(size)


def warn_again(category, message, own=None):
    """A warning the program issued during a call, issued here so `pytest.warns` sees it: of a builtin category,
    or the program's own warning (an object of the mirror of its class, made without running the program)."""
    try:
        if isinstance(own, Warning) and isinstance(own, RemoteObject):
            warnings.warn(own, stacklevel=2)
            return None
        cls = getattr(builtins, category, None)
        if not (isinstance(cls, type) and issubclass(cls, Warning)):
            cls = UserWarning
        warnings.warn(message[:2000], cls, stacklevel=2)
    except Warning as exc:  # the tests' filters say "error"
        return exc
    return None


