"""The runner inside every sandbox container. It is baked into the image; the host never executes it.

Two processes per job, so that the code under test cannot forge its verdict:

- the *judge* (this server, long-lived, the container's main process) reads jobs from stdin, runs the tests
  and writes one result line per job to stdout. Tests are trusted code; they run here.
- the *candidate* (a child forked before the job arrives) executes the untrusted program. The judge reaches
  the candidate's functions only through proxies: every call crosses a pipe, and what comes back is plain
  data (None, bool, int, float, str, bytes, list, tuple, dict, set; exact types only) or an opaque handle.
  So the candidate cannot patch the test framework (it lives in another process), cannot return an object
  whose ``__eq__`` lies (a handle equals only itself), and cannot write the result line: the judge is
  non-dumpable (no ptrace, no /proc/<pid>/fd), and every line carries a per-job secret that was sent only
  after the candidate process was forked. Exiting early, killing the judge or printing a fake report all end
  as error/crashed, never as passed.

After every job the judge kills every process it can signal (the candidate and anything it spawned) and
forks a fresh candidate process for the next job; the interpreter and common imports are paid once.
"""

from __future__ import annotations

import ast
import base64
import builtins
import ctypes
import json
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback
import types

# Imported once here so every candidate process starts with them loaded (fork shares them).
import collections, functools, heapq, itertools, math, random, re, string, typing  # noqa: E401,F401

MAX_OUTPUT = 16 * 1024  # bytes of stdout/stderr kept per run
MAX_MESSAGE = 64 * 1024 * 1024  # largest candidate reply the judge accepts
MAX_DEPTH = 200  # nesting depth of values crossing the pipe
MAX_REPR = 400  # characters of a value shown in a message
JUDGE_FILE = "<tests>"


# ---------------------------------------------------------------------------------------------------------------
# Values crossing the pipe: tagged JSON, exact builtin types only. Shared by candidate, judge and host.


# Standard-library containers that tests compare by content: they cross as plain data and are rebuilt by the
# judge with its own classes, so nothing of the candidate's (no method it may have patched) is ever called.
_DICT_LIKE = {collections.Counter: "Counter", collections.OrderedDict: "OrderedDict",
              collections.defaultdict: "defaultdict"}
_REBUILD = {"Counter": collections.Counter, "OrderedDict": collections.OrderedDict,
            "defaultdict": lambda items: collections.defaultdict(None, items), "deque": collections.deque}


def encode_value(obj, handles=None, depth=0):
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t = type(obj)
    if obj is None or t is bool or t is str:
        return obj
    if t is int:
        return obj if -(2**63) < obj < 2**63 else {"I": hex(obj)}
    if t is float:
        return {"f": obj.hex()}
    if t is list or t is tuple or t is set or t is frozenset:
        tag = {list: "l", tuple: "t", set: "s", frozenset: "fs"}[t]
        return {tag: [encode_value(x, handles, depth + 1) for x in obj]}
    if t is dict:
        return {"d": [[encode_value(k, handles, depth + 1), encode_value(v, handles, depth + 1)] for k, v in obj.items()]}
    if t is bytes:
        return {"b": base64.b64encode(obj).decode()}
    if t is complex:
        return {"c": [obj.real.hex(), obj.imag.hex()]}
    if t in _DICT_LIKE:
        return {"T": [_DICT_LIKE[t], encode_value(dict(dict.items(obj)), handles, depth + 1)]}
    if t is collections.deque:
        return {"T": ["deque", encode_value(list(collections.deque.__iter__(obj)), handles, depth + 1)]}
    if isinstance(obj, RemoteValue):  # judge side: a handle going back to the candidate
        return {"h": obj._ic_id}
    if handles is None:
        raise TypeError(f"cannot send a {t.__name__} to the sandboxed candidate (plain data only)")
    handles[id(obj)] = obj
    try:
        shown = repr(obj)[:MAX_REPR]
    except BaseException:
        shown = f"<{t.__name__} object>"
    return {"h": id(obj), "type": t.__name__, "repr": shown}


def decode_value(data, make_handle=None, depth=0):
    """Strict inverse of encode_value; raises ValueError on anything malformed (the candidate may lie)."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is not dict or len(data) not in (1, 3):
        raise ValueError("malformed value")
    (tag, val), = list(data.items())[:1]
    if tag == "I":
        return int(val, 16)
    if tag == "f":
        return float.fromhex(val)
    if tag in ("l", "t", "s", "fs"):
        if type(val) is not list:
            raise ValueError("malformed sequence")
        items = [decode_value(x, make_handle, depth + 1) for x in val]
        return {"l": list, "t": tuple, "s": set, "fs": frozenset}[tag](items)
    if tag == "d":
        return {decode_value(k, make_handle, depth + 1): decode_value(v, make_handle, depth + 1) for k, v in val}
    if tag == "b":
        return base64.b64decode(val)
    if tag == "c":
        return complex(float.fromhex(val[0]), float.fromhex(val[1]))
    if tag == "T" and type(val) is list and len(val) == 2 and val[0] in _REBUILD:
        return _REBUILD[val[0]](decode_value(val[1], make_handle, depth + 1))
    if tag == "h" and make_handle is not None:
        return make_handle(int(val), str(data.get("type", "object"))[:100], str(data.get("repr", ""))[:MAX_REPR])
    raise ValueError(f"unknown value tag {tag!r}")


# ---------------------------------------------------------------------------------------------------------------
# Length-prefixed JSON messages over pipes.


def send_msg(fd, obj):
    data = json.dumps(obj, allow_nan=False).encode()
    payload = struct.pack(">I", len(data)) + data
    while payload:
        payload = payload[os.write(fd, payload):]


def _read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_msg(fd):
    (n,) = struct.unpack(">I", _read_exact(fd, 4))
    if n > MAX_MESSAGE:
        raise ValueError("message too large")
    return json.loads(_read_exact(fd, n))


# ---------------------------------------------------------------------------------------------------------------
# The candidate process (untrusted once the program is loaded).


def _trimmed_traceback(exc):
    """Only the candidate's own frames (solution.py), so feedback shows what the model wrote."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "solution.py"]
    lines = traceback.format_list(frames[-8:]) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-4000:]


def _exception_record(exc):
    try:
        msg = str(exc)[:2000]
    except BaseException:
        msg = "<unprintable>"
    return {"type": type(exc).__name__, "msg": msg, "tb": _trimmed_traceback(exc)}


def candidate_main(req_fd, resp_fd):
    handles = {}
    try:
        with open("/proc/self/oom_score_adj", "w") as f:  # if the container runs short of memory, die first
            f.write("1000")
    except OSError:
        pass
    job = recv_msg(req_fd)
    mem = job["memory_mb"] * 1024 * 1024
    _, vsize = _vm_size()
    resource.setrlimit(resource.RLIMIT_AS, (vsize + mem, vsize + mem))
    cpu = int(job["timeout_s"]) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        code = compile(job["program"], "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        send_msg(resp_fd, {"syntax_error": {"line": getattr(exc, "lineno", 0) or 0,
                                            "col": getattr(exc, "offset", 0) or 0,
                                            "msg": getattr(exc, "msg", str(exc))[:500]}})
        return
    module = types.ModuleType("solution")
    module.__file__ = "solution.py"
    sys.modules["solution"] = module
    try:
        exec(code, module.__dict__)
    except BaseException as exc:  # SystemExit included: exiting at import is an error, not a pass
        send_msg(resp_fd, {"load_error": _exception_record(exc)})
        return
    names = {}
    for name, value in list(module.__dict__.items()):
        if name.startswith("__"):
            continue
        try:
            names[name] = encode_value(value, handles)
        except (TypeError, ValueError, RecursionError):
            names[name] = encode_value(object(), handles)
    send_msg(resp_fd, {"loaded": names})
    while True:
        req = recv_msg(req_fd)
        try:
            result = _serve(req, module, handles)
            send_msg(resp_fd, {"ok": encode_value(result, handles)})
        except BaseException as exc:
            send_msg(resp_fd, {"exc": _exception_record(exc)})


def _serve(req, module, handles):
    def resolve(v):
        return decode_value(v, lambda hid, _t, _r: handles[hid])

    op = req["op"]
    target = handles[req["target"]] if "target" in req else None
    if op == "call":
        return target(*[resolve(a) for a in req["args"]], **{k: resolve(v) for k, v in req["kwargs"].items()})
    if op == "getattr":
        return getattr(target, req["attr"])
    if op == "setattr":
        return setattr(target, req["attr"], resolve(req["value"]))
    if op == "iter":
        return list(itertools.islice(iter(target), 1_000_000))
    if op == "len":
        return len(target)
    if op == "getitem":
        return target[resolve(req["key"])]
    if op == "bool":
        return bool(target)
    if op == "str":
        return str(target)
    raise ValueError(f"unknown op {op}")


def _vm_size():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return line, int(line.split()[1]) * 1024
    return "", 0


# ---------------------------------------------------------------------------------------------------------------
# The judge's view of the candidate.


class CandidateGone(BaseException):
    """The candidate process died or broke the protocol (BaseException: tests cannot swallow it)."""


class Deadline(BaseException):
    """The job's wall-clock time ran out."""


class CandidateError(Exception):
    """An exception raised in the candidate whose type is not a builtin."""


class RemoteValue:
    """A proxy for a candidate object: calls and attribute access go through the pipe; it equals only itself."""

    __slots__ = ("_ic_id", "_ic_type", "_ic_repr", "_ic_conn")

    def __init__(self, conn, hid, type_name, shown):
        object.__setattr__(self, "_ic_conn", conn)
        object.__setattr__(self, "_ic_id", hid)
        object.__setattr__(self, "_ic_type", type_name)
        object.__setattr__(self, "_ic_repr", shown)

    def _ic(self, op, **kw):
        return self._ic_conn.request({"op": op, "target": self._ic_id, **kw})

    def __call__(self, *args, **kwargs):
        return self._ic("call", args=[self._ic_conn.encode(a) for a in args],
                        kwargs={k: self._ic_conn.encode(v) for k, v in kwargs.items()})

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._ic("getattr", attr=attr)

    def __setattr__(self, attr, value):
        self._ic("setattr", attr=attr, value=self._ic_conn.encode(value))

    def __iter__(self):
        return iter(self._ic("iter"))

    def __len__(self):
        return self._ic("len")

    def __getitem__(self, key):
        return self._ic("getitem", key=self._ic_conn.encode(key))

    def __bool__(self):
        return self._ic("bool") is True

    def __str__(self):
        value = self._ic("str")
        return value if type(value) is str else self._ic_repr

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return hash(self._ic_id)

    def __repr__(self):
        return self._ic_repr or f"<{self._ic_type}>"


class CandidateConnection:
    """The judge's end of the pipes to one candidate process, with the job's deadline."""

    def __init__(self, pid, req_fd, resp_fd, out_fd, err_fd):
        self.pid, self.req_fd, self.resp_fd = pid, req_fd, resp_fd
        self.out_fd, self.err_fd = out_fd, err_fd
        self.buffers = {out_fd: bytearray(), err_fd: bytearray()}
        self.dropped = {out_fd: 0, err_fd: 0}
        self.open_streams = {out_fd, err_fd}
        self.deadline = None
        self._resp = bytearray()
        os.set_blocking(req_fd, False)

    def encode(self, value):
        return encode_value(value)  # judge side: only plain data and RemoteValues go out

    def decode(self, data):
        return decode_value(data, lambda hid, t, r: RemoteValue(self, hid, t, r))

    def _keep(self, fd, chunk):
        buf = self.buffers[fd]
        room = max(0, MAX_OUTPUT - len(buf))
        buf += chunk[:room]
        self.dropped[fd] += max(0, len(chunk) - room)

    def _wait(self, write=False):
        """Wait for the candidate (reply readable, or request pipe writable) while draining its output."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise Deadline()
        readers = [self.resp_fd, *self.open_streams]
        ready, writable, _ = select.select(readers, [self.req_fd] if write else [], [], remaining)
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if fd == self.resp_fd:
                if not chunk:
                    raise CandidateGone("the candidate process ended during the tests")
                self._resp += chunk
                if len(self._resp) > MAX_MESSAGE + 4:
                    raise CandidateGone("the candidate sent an oversized reply")
            elif chunk:
                self._keep(fd, chunk)
            else:
                self.open_streams.discard(fd)
        return bool(writable)

    def send(self, obj):
        data = json.dumps(obj, allow_nan=False).encode()
        payload = memoryview(struct.pack(">I", len(data)) + data)
        while payload:
            if self._wait(write=True):
                try:
                    payload = payload[os.write(self.req_fd, payload):]
                except BlockingIOError:
                    pass
                except OSError:
                    raise CandidateGone("the candidate process ended during the tests")

    def receive(self):
        while len(self._resp) < 4:
            self._wait()
        (n,) = struct.unpack(">I", bytes(self._resp[:4]))
        if n > MAX_MESSAGE:
            raise CandidateGone("the candidate sent an oversized reply")
        while len(self._resp) < 4 + n:
            self._wait()
        data = bytes(self._resp[4:4 + n])
        del self._resp[:4 + n]
        try:
            reply = json.loads(data)
        except ValueError:
            raise CandidateGone("the candidate broke the protocol")
        if type(reply) is not dict:
            raise CandidateGone("the candidate broke the protocol")
        return reply

    def request(self, req):
        self.send(req)
        reply = self.receive()
        if "ok" in reply:
            try:
                return self.decode(reply["ok"])
            except (ValueError, TypeError, KeyError, RecursionError, OverflowError):
                raise CandidateGone("the candidate sent a malformed value")
        if "exc" in reply and type(reply["exc"]) is dict:
            raise remote_exception(reply["exc"])
        raise CandidateGone("the candidate broke the protocol")

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
        for fd in (self.req_fd, self.resp_fd, self.out_fd, self.err_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def remote_exception(rec):
    """Rebuild a candidate's exception in the judge: builtin types keep their type (pytest.raises works)."""
    name, msg = str(rec.get("type", "Exception"))[:100], str(rec.get("msg", ""))
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or cls in (StopIteration, StopAsyncIteration):
        cls, msg = CandidateError, f"{name}: {msg}"
    try:
        exc = cls(msg)
    except Exception:
        exc = CandidateError(f"{name}: {msg}")
    exc._ic_remote_tb = str(rec.get("tb", ""))[:4000]
    exc._ic_type = name
    return exc


# ---------------------------------------------------------------------------------------------------------------
# Assertions with values: `assert a == b` is rewritten so a failure shows both sides, evaluated once.


def _short(value):
    try:
        text = repr(value)
    except Exception:
        text = "<unprintable>"
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + "..."


class AssertionFailed(AssertionError):
    def __init__(self, message, expected=None, actual=None):
        super().__init__(message)
        self.expected, self.actual = expected, actual


_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


def _compare(op, left, right):
    import operator
    fn = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
          ">=": operator.ge, "is": operator.is_, "is not": operator.is_not,
          "in": lambda a, b: a in b, "not in": lambda a, b: a not in b}[op]
    return fn(left, right)


class AssertRewriter(ast.NodeTransformer):
    """`assert L op R, msg` -> `__ic_assert(ID, lambda: L, op, lambda: R, lambda: msg)`; other asserts keep
    their test as a thunk. With soft=True a failure is recorded and execution goes on (HumanEval's check)."""

    def __init__(self, source):
        self.source = source
        self.asserts = []  # (id, line, text)

    def visit_Assert(self, node):
        if any(isinstance(n, (ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await)) for n in ast.walk(node)):
            return node
        text = ast.get_source_segment(self.source, node) or ast.unparse(node)
        aid = len(self.asserts)
        self.asserts.append((aid, node.lineno, " ".join(text.split())))

        def thunk(expr):
            return ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                 defaults=[]), body=expr)

        test = node.test
        msg = thunk(node.msg) if node.msg is not None else ast.Constant(None)
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
            args = [ast.Constant(aid), thunk(test.left), ast.Constant(_OPS[type(test.ops[0])]),
                    thunk(test.comparators[0]), msg]
        else:
            args = [ast.Constant(aid), thunk(test), ast.Constant(None), ast.Constant(None), msg]
        call = ast.Call(func=ast.Name("__ic_assert", ast.Load()), args=args, keywords=[])
        return ast.copy_location(ast.Expr(call), node)


def compile_tests(source):
    tree = ast.parse(source, JUDGE_FILE)
    rewriter = AssertRewriter(source)
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    return compile(tree, JUDGE_FILE, "exec", dont_inherit=True), rewriter.asserts


class AssertRecorder:
    """Implements __ic_assert: hard (raise) or soft (record per assert id and go on)."""

    def __init__(self, texts, soft):
        self.texts = {aid: text for aid, _line, text in texts}
        self.soft = soft
        self.results = {}  # id -> TestOutcome dict (first failure kept)

    def __call__(self, aid, left, op, right, msg):
        text = self.texts.get(aid, "assert")
        try:
            if op is None:
                ok, expected, actual = bool(left()), None, None
                detail = ""
            else:
                lv, rv = left(), right()
                ok = bool(_compare(op, lv, rv))
                actual, expected = _short(lv), _short(rv)
                detail = f": left {actual} {op} right {expected} is false"
            if ok:
                self.results.setdefault(aid, {"name": text, "outcome": "passed", "message": ""})
                return
            extra = ""
            if msg is not None:
                extra = f" ({_short(msg())})"
            message = f"{text}{detail}{extra}"
            if op != "==":
                expected = actual = None
            failure = AssertionFailed(message, expected, actual)
        except (Deadline, CandidateGone):
            raise
        except Exception as exc:
            if not self.soft:
                raise
            self._record(aid, outcome_for_exception(exc, text))
            return
        if not self.soft:
            raise failure
        self._record(aid, {"name": text, "outcome": "failed", "message": message,
                           "expected": failure.expected, "actual": failure.actual})

    def _record(self, aid, outcome):
        previous = self.results.get(aid)
        if previous is None or previous["outcome"] == "passed":
            self.results[aid] = outcome


def outcome_for_exception(exc, name):
    if isinstance(exc, AssertionFailed):
        return {"name": name, "outcome": "failed", "message": str(exc), "expected": exc.expected,
                "actual": exc.actual, "traceback": ""}
    if isinstance(exc, AssertionError):
        return {"name": name, "outcome": "failed", "message": str(exc) or "assertion failed",
                "traceback": _judge_traceback(exc)}
    remote_tb = getattr(exc, "_ic_remote_tb", "")
    kind = getattr(exc, "_ic_type", type(exc).__name__)
    text = str(exc)
    message = text if isinstance(exc, CandidateError) else f"{kind}: {text}"
    return {"name": name, "outcome": "error", "message": message[:2000],
            "traceback": remote_tb or _judge_traceback(exc)}


def _judge_traceback(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == JUDGE_FILE]
    return "".join(traceback.format_list(frames[-4:]))[-2000:]


# ---------------------------------------------------------------------------------------------------------------
# Running one job in the judge.


def _values_close(a, b, atol):
    if type(a) is float or type(b) is float:
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and type(a) is not bool:
            return a == b or abs(a - b) <= atol or (a != a and b != b)
        return False
    if type(a) in (list, tuple) and type(a) is type(b):
        return len(a) == len(b) and all(_values_close(x, y, atol) for x, y in zip(a, b))
    return a == b


def _has_float(v):
    if type(v) is float:
        return True
    if type(v) in (list, tuple):
        return any(_has_float(x) for x in v)
    return False


def run_job(job, conn):
    tests = job["tests"]
    kind = tests["kind"]
    conn.deadline = time.monotonic() + float(job["timeout_s"])
    outcomes, outputs = [], None
    # Load the program in the candidate process.
    conn.send({"program": job["program"], "memory_mb": job["memory_mb"], "timeout_s": job["timeout_s"]})
    reply = conn.receive()
    if "syntax_error" in reply:
        se = reply["syntax_error"]
        return {"status": "syntax_error", "syntax_error": {"line": int(se.get("line", 0)), "col": int(se.get("col", 0)),
                                                          "msg": str(se.get("msg", ""))[:500]},
                "message": f"syntax error at line {se.get('line')}:{se.get('col')}: {se.get('msg')}"}, []
    if "load_error" in reply:
        rec = reply["load_error"]
        exc = remote_exception(rec)
        return {"status": "error", "message": f"the program raised at import: {rec.get('type')}: {rec.get('msg')}",
                "load_traceback": getattr(exc, "_ic_remote_tb", "")}, [
            {"name": "import solution", "outcome": "error", "message": f"{rec.get('type')}: {rec.get('msg')}",
             "traceback": getattr(exc, "_ic_remote_tb", "")}]
    if "loaded" not in reply or type(reply["loaded"]) is not dict:
        raise CandidateGone("candidate broke the protocol")
    names = {}
    for name, value in reply["loaded"].items():
        try:
            names[str(name)] = conn.decode(value)
        except (ValueError, TypeError, KeyError, RecursionError, OverflowError):
            raise CandidateGone("candidate sent a malformed value")
    solution = types.ModuleType("solution")
    solution.__dict__.update(names)
    sys.modules["solution"] = solution
    try:
        if kind == "pytest":
            outcomes = _run_pytest_style(tests["source"])
        elif kind == "asserts":
            outcomes = _run_asserts(tests["asserts"], tests.get("setup", ""), names)
        elif kind == "humaneval":
            outcomes = _run_check(tests["source"], tests["entry_point"], names)
        elif kind == "io":
            outcomes, outputs = _run_io(tests, names, conn)
        else:
            raise ValueError(f"unknown tests kind {kind!r}")
    finally:
        sys.modules.pop("solution", None)
    return {"outputs": outputs}, outcomes


def _namespace(names):
    ns = {"__name__": "__tests__", "__builtins__": builtins}
    ns.update(names)
    return ns


def _run_pytest_style(source):
    code, asserts = compile_tests(source)
    recorder = AssertRecorder(asserts, soft=False)
    ns = _namespace({})
    ns["__ic_assert"] = recorder
    exec(code, ns)
    outcomes = []
    tests = [(n, f) for n, f in ns.items() if n.startswith("test") and isinstance(f, types.FunctionType)
             and f.__code__.co_filename == JUDGE_FILE]
    for name, fn in tests:
        if fn.__code__.co_argcount:
            outcomes.append({"name": name, "outcome": "error", "message": "test functions with arguments "
                             "(fixtures, parametrize) are not supported"})
            continue
        outcomes.append(_outcome_of(name, fn))
    return outcomes


def _outcome_of(name, test):
    """Run one test; any exception but the job-ending ones becomes its outcome."""
    try:
        test()
        return {"name": name, "outcome": "passed", "message": ""}
    except (Deadline, CandidateGone):
        raise
    except BaseException as exc:
        return outcome_for_exception(exc, name)


def _run_asserts(statements, setup, names):
    ns = _namespace(names)
    if setup.strip():
        exec(compile(setup, JUDGE_FILE, "exec", dont_inherit=True), ns)
    outcomes = []
    for stmt in statements:
        def run_statement(stmt=stmt):
            code, asserts = compile_tests(stmt)
            ns["__ic_assert"] = AssertRecorder(asserts, soft=False)
            exec(code, ns)

        outcomes.append(_outcome_of(" ".join(stmt.split()), run_statement))
    return outcomes


def _run_check(source, entry_point, names):
    code, asserts = compile_tests(source)
    recorder = AssertRecorder(asserts, soft=True)
    ns = _namespace(names)
    ns["__ic_assert"] = recorder
    exec(code, ns)
    if entry_point not in names:
        return [{"name": f"check({entry_point})", "outcome": "error",
                 "message": f"NameError: the program does not define {entry_point!r}"}]
    aborted = None
    try:
        ns["check"](names[entry_point])
    except (Deadline, CandidateGone):
        raise
    except BaseException as exc:
        aborted = outcome_for_exception(exc, f"check({entry_point})")
    outcomes = []
    for aid, line, text in asserts:
        if aid in recorder.results:
            outcomes.append(recorder.results[aid])
        elif aborted is None:
            outcomes.append({"name": text, "outcome": "passed", "message": "not reached (branch not taken)"})
        else:
            outcomes.append({"name": text, "outcome": "not_run", "message": "not reached: check() stopped earlier"})
    if aborted is not None:
        outcomes.append(aborted)
    if not asserts and aborted is None:
        outcomes.append({"name": f"check({entry_point})", "outcome": "passed", "message": ""})
    return outcomes


def _run_io(tests, names, conn):
    fn = names.get(tests["entry_point"])
    if fn is None:
        return [{"name": "inputs", "outcome": "error",
                 "message": f"NameError: the program does not define {tests['entry_point']!r}"}], None
    inputs = decode_value(tests["inputs"])
    expected = decode_value(tests["expected"]) if tests.get("expected") is not None else None
    atol = float(tests.get("atol") or 0.0)
    outcomes, outputs = [], []
    for i, args in enumerate(inputs):
        name = f"{tests['entry_point']}(*inputs[{i}])"
        try:
            got = fn(*args)
        except (Deadline, CandidateGone):
            raise
        except BaseException as exc:
            outcomes.append(outcome_for_exception(exc, name))
            outputs.append(None)
            continue
        outputs.append(got)
        if expected is None:
            outcomes.append({"name": name, "outcome": "passed", "message": "output recorded"})
            continue
        want = expected[i]
        tol = atol if atol or not _has_float(want) else 1e-6
        ok = _values_close(got, want, tol) if tol else (type(got) is not RemoteValue and got == want)
        if ok:
            outcomes.append({"name": name, "outcome": "passed", "message": ""})
        else:
            outcomes.append({"name": name, "outcome": "failed",
                             "message": f"{name} returned {_short(got)}, expected {_short(want)}",
                             "expected": _short(want), "actual": _short(got)})
    if expected is None:
        if any(isinstance(o, RemoteValue) for o in outputs):
            raise ValueError("an output is not plain data")
        return outcomes, encode_value(outputs)
    return outcomes, None


# ---------------------------------------------------------------------------------------------------------------
# The server loop.


def _set_non_dumpable():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:
        pass


def spawn_candidate():
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            keep = {0, 1, 2, req_r, resp_w}
            for fd in range(3, 1024):
                if fd not in keep:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            sys.stdin = open(0, "r", closefd=False)
            sys.stdout = open(1, "w", buffering=1, closefd=False)
            sys.stderr = open(2, "w", buffering=1, closefd=False)
            candidate_main(req_r, resp_w)
        except BaseException:
            pass
        finally:
            os._exit(0)
    for fd in (req_r, resp_w, out_w, err_w):
        os.close(fd)
    return CandidateConnection(pid, req_w, resp_r, out_r, err_r)


def kill_everything():
    """Kill every process this uid may signal except ourselves and PID 1: the candidate and its offspring.
    Returns True when something was still alive (a sign the candidate spawned processes)."""
    try:
        os.kill(-1, signal.SIGKILL)
        found = True
    except ProcessLookupError:
        found = False
    give_up = time.monotonic() + 2
    while time.monotonic() < give_up:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.001)
    return found


def _clean_tmp():
    """The next candidate in this container must not see what this one left in /tmp."""
    import shutil

    for entry in os.scandir("/tmp"):
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def _memory_failcnt():
    for path in ("/sys/fs/cgroup/memory/memory.failcnt", "/sys/fs/cgroup/memory.events"):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith("failcnt"):
            return int(text.strip() or 0)
        for line in text.splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    return None


def _verdict(outcomes):
    if any(o["message"].startswith("MemoryError") for o in outcomes):
        return "memory_exceeded", "MemoryError: the program ran out of its memory limit"
    if not outcomes:
        return "error", "no tests ran"
    if all(o["outcome"] == "passed" for o in outcomes):
        return "passed", ""
    if any(o["outcome"] == "failed" for o in outcomes):
        return "failed", ""
    return "error", ""


def handle_job(job, conn):
    started = time.monotonic()
    oom_before = _memory_failcnt()
    status, message, extra, outcomes = None, "", {}, []
    try:
        extra, outcomes = run_job(job, conn)
        status, message = extra.pop("status", None), extra.pop("message", "")
    except Deadline:
        status, message = "timeout", f"the run did not finish within {job['timeout_s']} s and was killed"
    except CandidateGone as exc:
        status, message = "crashed", str(exc)
    except RecursionError:
        status, message = "error", "the tests recursed too deeply"
    except (Exception, SystemExit) as exc:  # malformed tests: the caller's fault, not the candidate's
        status, message = "error", f"the tests themselves failed: {type(exc).__name__}: {exc}"[:2000]
    # The candidate and everything it started die now; then what is left of its output is read.
    try:
        os.killpg(conn.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        _, exit_status = os.waitpid(conn.pid, 0)
    except ChildProcessError:
        exit_status = 0
    conn.drain()
    lingering = kill_everything()
    _clean_tmp()
    oom_after = _memory_failcnt()
    if status == "crashed" and oom_before is not None and oom_after is not None and oom_after > oom_before:
        status, message = "memory_exceeded", f"the program exceeded its memory limit of {job['memory_mb']} MB"
    elif status == "crashed" and os.WIFSIGNALED(exit_status):
        message += f" (killed by signal {os.WTERMSIG(exit_status)})"
    tests = [_clean_outcome(o) for o in outcomes]
    if status is None:
        status, message = _verdict(tests)
    result = {
        "status": status,
        "passed": sum(o["outcome"] == "passed" for o in tests),
        "total": len(tests),
        "tests": tests,
        "stdout": conn.output(conn.out_fd),
        "stderr": conn.output(conn.err_fd),
        "duration_s": round(time.monotonic() - started, 4),
        "message": message,
        "syntax_error": extra.get("syntax_error"),
        "outputs": extra.get("outputs"),
        "suspicious": lingering or status in ("timeout", "crashed", "memory_exceeded"),
    }
    conn.close()
    return result


def _clean_outcome(o):
    return {"name": str(o.get("name", ""))[:300], "outcome": o.get("outcome", "error"),
            "message": str(o.get("message", ""))[:4000], "expected": o.get("expected"),
            "actual": o.get("actual"), "traceback": str(o.get("traceback", ""))[:4000]}


def write_line(obj):
    data = (json.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(1, data):]


def serve():
    # kill_everything() signals every process this uid can reach: only ever run as the sandbox's own user.
    if os.getuid() == 0 or os.environ.get("INFINICODE_SANDBOX") != "1":
        sys.exit("runner.py: refusing to run outside an infinicode sandbox container (it kills its uid's processes)")
    _set_non_dumpable()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    conn = None
    stdin = os.fdopen(0, "rb", buffering=0)
    pending = b""
    while True:
        if conn is None:
            conn = spawn_candidate()  # forked before the next job (and its secret) is read
        while b"\n" not in pending:
            chunk = stdin.read(1 << 20)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        msg = json.loads(line)
        reply = {"id": msg["id"], "secret": msg["secret"]}
        if msg["op"] == "ping":
            reply["pong"] = True
        else:
            reply["result"] = handle_job(msg["job"], conn)
            conn = None
        write_line(reply)
        del msg, reply


if __name__ == "__main__":
    serve()
