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
import collections  # noqa: E401,F401
import ctypes
import gc
import io
import operator  # noqa: E401,F401
import os
import select
import shutil
import signal
import sys
import time

import numpy  # noqa: F401
import pytest  # noqa: F401

from . import annotations, candidate, modules, pickling, scripts, state
from .framing import JSON_DUMPS, JSON_LOADS
from .one_job import handle_job, judge_failed, signaled
from .remote import Connection


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
    signal.signal(signal.SIGINT, signaled)
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
                data = JSON_DUMPS(judge_failed(exc)).encode()
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
        return judge_failed(RuntimeError(f"the job's judge process ended without a result{ended}"))
    try:
        result = JSON_LOADS(b"".join(chunks))
    except ValueError:
        return judge_failed(RuntimeError("the job's judge process wrote a malformed result"))
    return result if type(result) is dict else judge_failed(RuntimeError("the job's judge wrote no result"))


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
