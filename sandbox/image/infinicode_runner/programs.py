"""Whole programs (stdio tests) and the resource limits every candidate process runs under."""

from __future__ import annotations

import atexit
import base64
import builtins
import os
import resource
import select
import signal
import sys
import time
import traceback

from . import framing


def flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _vm_size():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def set_limits(memory_mb, timeout_s):
    mem = _vm_size() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(timeout_s) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))




def serve_programs(from_judge, to_judge):
    while True:
        req = framing.recv_msg(from_judge)
        framing.send_msg(to_judge, run_program(req["program"], req["stdin"], float(req["timeout_s"]),
                                               int(req["memory_mb"])))


_REAL_INPUT = builtins.input  # (the candidate's own reads the tests' stdin: a script's child reads its own)


def run_program(program, stdin_text, timeout_s, memory_mb, max_bytes=8 << 20, argv=None, limits=True, env=None,
                cwd=None):
    """The program as __main__ in a child process; `limits` False where this process has its own already (a script
    run by the tests, scripts.py: the child inherits them), with the environment and directory the tests gave
    `subprocess.run` (env=, cwd=)."""
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
            signal.signal(signal.SIGINT, signal.default_int_handler)  # (the judge notes SIGINT instead)
            for fd, target in ((stdin_fd, 0), (out_w, 1), (err_w, 2)):
                os.dup2(fd, target)
            os.closerange(3, 1024)
            sys.stdin = open(0, closefd=False)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            if limits:
                set_limits(memory_mb, timeout_s)
            if argv is not None:
                sys.argv = [str(a) for a in argv]
            builtins.input = _REAL_INPUT
            if type(env) is dict:
                os.environ.clear()
                os.environ.update({str(k): str(v) for k, v in env.items()})
            if type(cwd) is str:
                os.chdir(cwd)
            atexit._clear()  # (what this process registered is not the script's)
            status = _run_main(program)
            atexit._run_exitfuncs()  # the script's own, at its exit
        finally:
            flush()
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
