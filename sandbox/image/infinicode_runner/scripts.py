"""Tests that run the program as a script: `subprocess.run([sys.executable, "solution.py", "3"], ...)`.

The tests run in the judge, and the program must never run there. So while a job's tests run, `subprocess.run`,
`check_output`, `call` and `check_call` send such a command to the candidate process instead: it runs the program
as `__main__` in a fresh child, with the arguments and standard input (programs.run_program), and the tests get a
CompletedProcess as subprocess would give it. Any other command goes to subprocess as usual.
"""

from __future__ import annotations

import base64
import os
import runpy
import shlex
import subprocess
import sys
import time

_ORIGINAL = {name: getattr(subprocess, name) for name in ("run", "check_output", "call", "check_call")}
_RUNPY = {"run_path": runpy.run_path, "run_module": runpy.run_module}
_CURRENT = []  # (connection, program text, names the tests may give the script) while a job's tests run
_PYTHONS = {"python", "python3", os.path.basename(sys.executable)}


def install():
    """Once, at the judge's start: the wrappers consult the job under way, if any."""
    runpy.run_path, runpy.run_module = _run_path, _run_module
    subprocess.run = _run
    subprocess.check_output = lambda *a, **k: _run(*a, **{"stdout": subprocess.PIPE, "check": True, **k}).stdout
    subprocess.call = lambda *a, **k: _run(*a, **k).returncode
    subprocess.check_call = lambda *a, **k: _run(*a, **{"check": True, **k}).returncode


def running(conn, program, module):
    """For the duration of one job's tests (server.py): the script names are solution.py and the tests' own."""
    _CURRENT[:] = [(conn, program, {"solution.py", f"{module}.py"} if module else {"solution.py"})]


def stopped():
    _CURRENT.clear()


def _run_path(path_name, init_globals=None, run_name=None):
    """runpy.run_path("solution.py", run_name="__main__") in the tests: the program runs in its own process (as
    `import` does), with the tests' sys.argv; what it prints reaches the tests, and its globals come back."""
    if not _CURRENT or os.path.basename(os.fsdecode(path_name)) not in _CURRENT[0][2]:
        return _RUNPY["run_path"](path_name, init_globals, run_name)
    return _run_program(run_name or "<run_path>", init_globals)


def _run_module(mod_name, init_globals=None, run_name=None, alter_sys=False):
    if not _CURRENT or f"{mod_name}.py" not in _CURRENT[0][2]:
        return _RUNPY["run_module"](mod_name, init_globals, run_name, alter_sys)
    return _run_program(run_name or mod_name, init_globals)


def _run_program(run_name, init_globals):
    conn, program, _ = _CURRENT[0]
    names = conn.request({"op": "run_path", "t": None, "n": program,
                          "a": [conn.codec.encode(str(run_name)), conn.encode_handed(dict(init_globals or {}))]})
    if type(names) is not dict:
        raise RuntimeError("the program's run gave no globals")
    return names


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
    env, cwd = kwargs.get("env"), kwargs.get("cwd")
    env = {str(k): str(v) for k, v in env.items()} if env is not None else None
    cwd = os.fspath(cwd) if cwd is not None else None
    reply = conn.request({"op": "run_main", "t": None, "n": program, "timeout": limit,
                          "a": [conn.codec.encode(argv), conn.codec.encode(str(stdin)), conn.codec.encode(env),
                                conn.codec.encode(cwd)]})
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
