"""Tests that run the program as a script: `subprocess.run([sys.executable, "solution.py", "3"], ...)`.

The tests run in the judge, and the program must never run there. So while a job's tests run, `subprocess.run`,
`check_output`, `call` and `check_call` send such a command to the candidate process instead: it runs the program
as `__main__` in a fresh child, with the arguments and standard input (programs.run_program), and the tests get a
CompletedProcess as subprocess would give it. Any other command goes to subprocess as usual.
"""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
import sys
import time

_ORIGINAL = {name: getattr(subprocess, name) for name in ("run", "check_output", "call", "check_call")}
_CURRENT = []  # (connection, program text, names the tests may give the script) while a job's tests run
_PYTHONS = {"python", "python3", os.path.basename(sys.executable)}


def install():
    """Once, at the judge's start: the wrappers consult the job under way, if any."""
    subprocess.run = _run
    subprocess.check_output = lambda *a, **k: _run(*a, **{"stdout": subprocess.PIPE, "check": True, **k}).stdout
    subprocess.call = lambda *a, **k: _run(*a, **k).returncode
    subprocess.check_call = lambda *a, **k: _run(*a, **{"check": True, **k}).returncode


def running(conn, program, module):
    """For the duration of one job's tests (server.py): the script names are solution.py and the tests' own."""
    _CURRENT[:] = [(conn, program, {"solution.py", f"{module}.py"} if module else {"solution.py"})]


def stopped():
    _CURRENT.clear()


def _script_argv(args, shell):
    if isinstance(args, (str, bytes)):
        if not shell and isinstance(args, str) and " " not in args:
            return None
        try:
            args = shlex.split(os.fsdecode(args))
        except ValueError:
            return None
    try:
        argv = [os.fsdecode(a) for a in args]
    except TypeError:
        return None
    names = _CURRENT[0][2]
    if len(argv) >= 2 and (argv[0] == sys.executable or os.path.basename(argv[0]) in _PYTHONS) \
            and os.path.basename(argv[1]) in names:
        return argv[1:]
    return None


def _run(args, *rest, input=None, capture_output=False, check=False, timeout=None, text=None,
         universal_newlines=None, encoding=None, errors=None, stdout=None, stderr=None, shell=False, **kwargs):
    argv = _script_argv(args, shell) if _CURRENT and not rest else None
    if argv is None:
        return _ORIGINAL["run"](args, *rest, input=input, capture_output=capture_output, check=check,
                                timeout=timeout, text=text, universal_newlines=universal_newlines,
                                encoding=encoding, errors=errors, stdout=stdout, stderr=stderr, shell=shell,
                                **kwargs)
    conn, program, _ = _CURRENT[0]
    as_text = bool(text or universal_newlines or encoding or errors)
    stdin = input.decode(encoding or "utf-8", errors or "strict") if isinstance(input, bytes) else (input or "")
    limit = max(0.1, min(float(timeout) if timeout is not None else float("inf"), conn.deadline - time.monotonic()))
    reply = conn.request({"op": "run_main", "t": None, "n": program, "timeout": limit,
                          "a": [conn.codec.encode(argv), conn.codec.encode(str(stdin))]})
    if type(reply) is not dict:
        raise subprocess.SubprocessError("the program's run gave no result")
    if reply.get("timed_out"):
        raise subprocess.TimeoutExpired(args, timeout or 0)
    out = base64.b64decode(str(reply.get("stdout", "")))
    err = str(reply.get("stderr", "")).encode()
    code = reply.get("exit") if reply.get("exit") is not None else -int(reply.get("signal") or 9)

    def shaped(data, wanted):
        if not (capture_output or wanted == subprocess.PIPE or wanted == subprocess.STDOUT):
            target = sys.stdout if wanted is None else None  # not captured: it goes where the test's goes
            if target is not None:
                target.write(data.decode("utf-8", "replace"))
            return None
        return data.decode(encoding or "utf-8", errors or "replace") if as_text else data

    result = subprocess.CompletedProcess(args, code, shaped(out, stdout), shaped(err, stderr))
    if check and code != 0:
        raise subprocess.CalledProcessError(code, args, result.stdout, result.stderr)
    return result
