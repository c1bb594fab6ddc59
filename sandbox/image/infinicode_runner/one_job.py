"""One job, in the judge of that job (server.fork_job_judge): the program loaded in the candidate, the tests run
against it in the form they come in (judge.py), and the verdict, with what the candidate printed and how it ended.
"""

from __future__ import annotations

import ast
import keyword
import linecache
import os
import signal
import sys
import time

from . import judge, modules, pickling, scripts, state
from .proxies import CandidateGone, Deadline, Unsupported


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


def _others_alive(candidate_pid):
    """Whether a process other than init, the judge and the candidate runs in the container (its offspring)."""
    known = {1, os.getpid(), os.getppid(), candidate_pid}
    return any(name.isdigit() and int(name) not in known for name in os.listdir("/proc"))


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


def signaled(signum, frame):
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


def judge_failed(exc):
    """The verdict when the judge raised where it should not have: never a pass, and the container is replaced."""
    return {"status": "crashed", "passed": 0, "total": 0, "tests": [], "stdout": "", "stderr": "", "duration_s": 0.0,
            "message": f"the sandbox's judge failed ({type(exc).__name__}: {exc})"[:2000], "suspicious": True}


def _clean_outcome(o):
    return {"name": str(o.get("name", ""))[:300], "outcome": o.get("outcome", "error"),
            "message": str(o.get("message", ""))[:4000], "expected": _text_or_none(o.get("expected")),
            "actual": _text_or_none(o.get("actual")), "traceback": str(o.get("traceback", ""))[:4000]}


def _text_or_none(value):
    return None if value is None else str(value)[:4000]
