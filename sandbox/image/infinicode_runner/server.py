"""The runner's main loop, the container's main process. It is baked into the image; the host never runs it.

Two processes per job, so that the code under test cannot forge its verdict:
- the *judge* runs the tests (trusted code). This process, long-lived, reads jobs from stdin and writes one result
  line per job on a private copy of the container's stdout; for each job it forks a judge of that job, which runs
  it and hands back the result, so nothing a job leaves in a judge reaches the next job (fork_job_judge);
- the *candidate* (a child of the job's judge, forked before the job arrives) runs the untrusted program
  (candidate.py). The judge reaches it only through the connection in remote.py.
The judge is non-dumpable (no ptrace, no /proc/<pid>/fd or mem for the candidate), and every result line carries
a per-job secret sent only after the candidate was forked, so a line the candidate writes to the container's
stdout is rejected by the host. After every job the judge kills every process it can signal, empties /tmp and
forks a fresh candidate for the next job; the interpreter and common imports are paid once.
"""

from __future__ import annotations

# Loaded once here: every candidate process starts with them (fork shares them), and the judge never imports
# anything after a candidate ran (nothing on sys.path is writable, checked below).
import ast
import collections  # noqa: E401,F401
import ctypes
import gc
import io
import keyword
import linecache
import operator  # noqa: E401,F401
import os
import select
import shutil
import signal
import sys
import time

import numpy  # noqa: F401
import pytest  # noqa: F401

from . import annotations, candidate, judge, modules, pickling, scripts, state
from .framing import JSON_DUMPS, JSON_LOADS
from .proxies import CandidateGone, Deadline, Unsupported
from .remote import Connection


def _identifiers(tests):
    """Every name the tests' code uses (a bare name or an attribute): a class of the program the tests name is one
    whose own ordering they mean to test (compare.py)."""
    names = set()
    for code in [tests.get("source"), tests.get("setup"), *(tests.get("asserts") or [])]:
        if type(code) is not str:
            continue
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
    return names


def run_job(job, conn, outcomes, extra):
    """Run one job's tests, appending to `outcomes` as they finish (kept when the job ends early)."""
    tests = job["tests"]
    kind = tests["kind"]
    conn.deadline = time.monotonic() + float(job["budget_s"])
    if kind == "stdio":
        conn.send({"stdio": True})
        judge.run_stdio(tests, job, conn, outcomes)
        return
    conn.named_in_tests = _identifiers(tests)
    conn.program_source = job["program"]
    conn.send({"program": job["program"], "memory_mb": job["memory_mb"], "timeout_s": job["timeout_s"]})
    reply = conn.receive()
    if "syntax_error" in reply:
        se = reply["syntax_error"]
        extra["status"] = "syntax_error"
        extra["syntax_error"] = {"line": int(se.get("line", 0)), "col": int(se.get("col", 0)),
                                 "msg": str(se.get("msg", ""))[:500]}
        extra["message"] = f"syntax error at line {se.get('line')}:{se.get('col')}: {se.get('msg')}"
        return
    if "load_error" in reply:
        rec = reply["load_error"]
        text = f"{str(rec.get('type'))[:100]}: {str(rec.get('msg'))[:2000]}"
        extra["status"], extra["message"] = "error", f"the program raised at import: {text}"
        outcomes.append({"name": "import solution", "outcome": "error", "message": text,
                         "traceback": str(rec.get("tb", ""))[:4000]})
        return
    if type(reply.get("loaded")) is not dict:
        raise CandidateGone("candidate broke the protocol")
    try:
        names = {str(name): conn.codec.decode(value) for name, value in reply["loaded"].items()}
        module_proxy = conn.codec.decode(reply.get("module"))
    except (Deadline, CandidateGone, Unsupported):
        raise
    except Exception:
        raise CandidateGone("candidate sent a malformed value") from None
    state.take_process_changes(reply.get("ps"), conn.state)
    solution = modules.solution_module(conn, module_proxy, names)
    sys.modules["solution"] = solution
    alias = tests.get("module")
    alias = alias if _free_module_name(alias) else None
    if alias:
        sys.modules[alias] = solution
    scripts.running(conn, job["program"], alias)
    pickling.running(conn)
    try:
        if kind == "pytest":
            judge.run_pytest(tests, conn, outcomes)
        elif kind == "asserts":
            judge.run_asserts(tests, names, conn, outcomes)
        elif kind == "humaneval":
            judge.run_check(tests, names, conn, outcomes)
        elif kind == "io":
            judge.run_io(tests, names, conn, outcomes, extra)
        else:
            raise ValueError(f"unknown tests kind {kind!r}")
    finally:
        scripts.stopped()
        pickling.stopped()
        linecache.cache.pop("solution.py", None)  # the next job's program has its own text
        sys.modules.pop("solution", None)
        if alias:
            sys.modules.pop(alias, None)


def _free_module_name(name) -> bool:
    """A name the program may also be imported by: a plain top-level name nothing in the judge uses."""
    return type(name) is str and name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") \
        and name not in sys.modules and name not in sys.stdlib_module_names and name not in ("pytest", "numpy")


# ---------------------------------------------------------------------------------------------------------------
# Processes.


def _set_non_dumpable():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:
        pass


def spawn_candidate():
    # Objects that exist now are never traversed by the candidate's garbage collector, so they stay shared with the
    # judge instead of being copied page by page after the fork (the judge has pytest and numpy loaded).
    gc.freeze()
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            signal.signal(signal.SIGINT, signal.default_int_handler)  # the program's own, as in plain Python
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            low = 3  # close every other descriptor (the judge's pipes, the results copy of stdout...)
            for fd in sorted((to_r, from_w)):
                os.closerange(low, fd)
                low = fd + 1
            os.closerange(low, 1 << 16)
            sys.stdin = open(0, closefd=False)
            sys.stdout = open(1, "w", buffering=1, closefd=False)
            sys.stderr = open(2, "w", buffering=1, closefd=False)
            candidate.main(to_r, from_w)
        except BaseException:
            pass
        finally:
            os._exit(0)
    for fd in (to_r, from_w, out_w, err_w):
        os.close(fd)
    return Connection(pid, to_w, from_r, out_r, err_r)


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


def _others_alive(candidate_pid):
    """Whether a process other than init, the judge and the candidate runs in the container (its offspring)."""
    known = {1, os.getpid(), os.getppid(), candidate_pid}
    return any(name.isdigit() and int(name) not in known for name in os.listdir("/proc"))


def finish_job(judge_pid):
    """After the verdict is out: kill the job's judge and what its candidate left, reap them, empty /tmp for the
    next one."""
    kill_everything()
    try:
        os.waitpid(judge_pid, 0)
    except ChildProcessError:
        pass
    _clean_tmp()
    state.job_done()


def _clean_tmp():
    """The next candidate in this container must not see what this one left in /tmp."""
    for entry in [*os.scandir("/tmp"), *_scandir_or_none("/dev/shm")]:
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def _scandir_or_none(path):
    try:
        return list(os.scandir(path))
    except OSError:
        return []


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


# SIGINT the candidate sent to the judge (it runs as the same user): Python would raise KeyboardInterrupt in the
# middle of the tests, and pytest would end the session early with the tests run so far. Noted instead, and the
# job is an error.
_SIGNALED: list = []


def _signaled(signum, frame):
    _SIGNALED.append(signum)


def handle_job(job, conn):
    started = time.monotonic()
    oom_before = _memory_failcnt()
    status, message, extra, outcomes = None, "", {}, []
    _SIGNALED.clear()
    try:
        run_job(job, conn, outcomes, extra)
        status, message = extra.pop("status", None), extra.pop("message", "")
        if _SIGNALED:
            status, message = "error", "the program sent SIGINT to the process running the tests"
    except Deadline:
        status, message = "timeout", f"the run did not finish within {job['budget_s']:g} s and was killed"
        timed = [o for o in outcomes if o.get("outcome") == "timeout"]
        if timed:
            message = timed[-1]["message"]
    except CandidateGone as exc:
        status, message = "crashed", str(exc)
    except Unsupported as exc:
        status, message = "unsupported", f"not judged: {exc}"
    except RecursionError:
        status, message = "error", "the tests recursed too deeply"
    except (Exception, SystemExit) as exc:  # malformed tests: the caller's fault, not the candidate's
        status, message = "error", f"the tests themselves failed: {type(exc).__name__}: {exc}"[:2000]
    # The candidate and its process group die now, and what is left of its output is read. Waiting for the kernel
    # to tear the process down, and the rest of the clean-up, happen after the verdict is sent (finish_job).
    try:
        os.killpg(conn.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    exit_status = None
    if status == "crashed":  # it died on its own: how, says its exit status
        try:
            _, exit_status = os.waitpid(conn.pid, 0)
        except ChildProcessError:
            pass
    conn.drain()
    lingering = _others_alive(conn.pid)
    oom_after = _memory_failcnt()
    if status == "crashed" and oom_before is not None and oom_after is not None and oom_after > oom_before:
        status, message = "memory_exceeded", f"the program exceeded its memory limit of {job['memory_mb']} MB"
    elif status == "crashed" and exit_status is not None and os.WIFSIGNALED(exit_status):
        message += f" (killed by signal {os.WTERMSIG(exit_status)})"
    tests = [_clean_outcome(o) for o in outcomes]
    if status is None:
        status, message = judge.verdict(tests, conn.unsupported)
    result = {
        "status": status,
        "passed": sum(o["outcome"] == "passed" for o in tests),
        "total": sum(o["outcome"] != "skipped" for o in tests),
        "tests": tests,
        "stdout": conn.output(conn.out_fd),
        "stderr": conn.output(conn.err_fd),
        "duration_s": round(time.monotonic() - started, 4),
        "message": message,
        "syntax_error": extra.get("syntax_error"),
        "outputs": extra.get("outputs"),
        "durations": extra.get("durations"),
        "suspicious": lingering or status in ("timeout", "crashed", "memory_exceeded"),
    }
    conn.close()
    return result


def _judge_failed(exc):
    """The verdict when the judge raised where it should not have: never a pass, and the container is replaced."""
    return {"status": "crashed", "passed": 0, "total": 0, "tests": [], "stdout": "", "stderr": "", "duration_s": 0.0,
            "message": f"the sandbox's judge failed ({type(exc).__name__}: {exc})"[:2000], "suspicious": True}


def _clean_outcome(o):
    return {"name": str(o.get("name", ""))[:300], "outcome": o.get("outcome", "error"),
            "message": str(o.get("message", ""))[:4000], "expected": _text_or_none(o.get("expected")),
            "actual": _text_or_none(o.get("actual")), "traceback": str(o.get("traceback", ""))[:4000]}


def _text_or_none(value):
    return None if value is None else str(value)[:4000]


def _writable_path_entries():
    return [p for p in sys.path if os.access(p or ".", os.W_OK)]


def serve():
    # kill_everything() signals every process this uid can reach: only ever run as the sandbox's own user.
    if os.getuid() == 0 or os.environ.get("INFINICODE_SANDBOX") != "1":
        sys.exit("infinicode_runner: refusing to run outside an infinicode sandbox container (it kills its uid's "
                 "processes)")
    if _writable_path_entries():  # a candidate could plant modules there for the judge to import
        sys.exit(f"infinicode_runner: refusing to run with writable sys.path entries {_writable_path_entries()}")
    _set_non_dumpable()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, _signaled)
    state.install()
    scripts.install()
    modules.install()
    annotations.install()
    candidate.warm_up()
    pickling.install()  # (after warm_up, which runs the candidate's side here, pickle restore included)
    sys.stdin = io.StringIO("")  # jobs are read from fd 0 directly; tests and programs find stdin empty
    # Results go out on a private copy of stdout; fd 1 and 2 (which tests and pytest may print to) go nowhere.
    results_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    job_judge = None
    stdin = os.fdopen(0, "rb", buffering=0)
    pending = b""
    while True:
        if job_judge is None:
            job_judge = fork_job_judge(results_fd)  # with its candidate, before the next job (and secret) is read
        while b"\n" not in pending:
            chunk = stdin.read(1 << 20)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        msg = JSON_LOADS(line)
        reply = {"id": msg["id"], "secret": msg["secret"]}
        if msg["op"] == "ping":
            reply["pong"] = True
        else:
            reply["result"] = run_in_job_judge(job_judge, msg["job"])
        data = (JSON_DUMPS(reply) + "\n").encode()
        while data:
            data = data[os.write(results_fd, data):]
        if "result" in reply:
            finish_job(job_judge[0])
            job_judge = None
        del msg, reply


def fork_job_judge(results_fd):
    """The judge of one job: a child of this process, forked before the job (and its secret) is read, which forks
    the job's candidate at once, then runs the job it is sent and writes back the result. What a job leaves in the
    judge (a module its tests patched for good, a logger's settings, anything a program managed to run there) ends
    with that child: this process stays as it was started, and no job sees another's."""
    gc.freeze()
    job_r, job_w = os.pipe()
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            # never the jobs' stream nor the results' (the next job's secret arrives there): only its own pipes
            os.close(job_w)
            os.close(result_r)
            os.close(results_fd)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            conn = spawn_candidate()
            with os.fdopen(job_r, "rb") as source:
                job = JSON_LOADS(source.read())
            try:
                result = handle_job(job, conn)
                data = JSON_DUMPS(result).encode()
            except BaseException as exc:  # a fault of the judge itself: say so (a dead runner says nothing)
                data = JSON_DUMPS(_judge_failed(exc)).encode()
            while data:
                data = data[os.write(result_w, data):]
        finally:
            os._exit(0)
    os.close(job_r)
    os.close(result_w)
    return pid, job_w, result_r


def run_in_job_judge(job_judge, job):
    """Hand the job to its judge and read the result it writes (a judge that dies or never answers: no pass)."""
    _, job_w, result_r = job_judge
    data = JSON_DUMPS(job).encode()
    try:
        with os.fdopen(job_w, "wb") as sink:
            sink.write(data)
    except OSError:  # it died before reading the job
        pass
    deadline = time.monotonic() + float(job.get("budget_s", 60)) + JOB_JUDGE_GRACE_S
    chunks = []
    with os.fdopen(result_r, "rb", buffering=0) as source:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([source], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = source.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        else:
            chunks = None
    if chunks is None or not chunks:
        ended = _how_it_ended(job_judge[0])
        return _judge_failed(RuntimeError(f"the job's judge process ended without a result{ended}"))
    try:
        result = JSON_LOADS(b"".join(chunks))
    except ValueError:
        return _judge_failed(RuntimeError("the job's judge process wrote a malformed result"))
    return result if type(result) is dict else _judge_failed(RuntimeError("the job's judge wrote no result"))


def _how_it_ended(pid) -> str:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return ""
    if done == 0:
        return " (it is still running)"
    if os.WIFSIGNALED(status):
        return f" (killed by signal {os.WTERMSIG(status)})"
    return f" (exit status {os.WEXITSTATUS(status)})"


JOB_JUDGE_GRACE_S = 20.0  # past the job's budget: the kill and clean-up of its candidate
