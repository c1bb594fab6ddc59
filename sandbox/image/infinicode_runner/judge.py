"""Running one job's tests in the judge: pytest modules (real pytest), assert lists, HumanEval's check(),
input/output pairs and whole programs on stdin/stdout. Tests are trusted code and run here; the program is
reached only through the connection (remote.py).
"""

from __future__ import annotations

import ast
import asyncio
import base64
import builtins
import inspect
import os
import sys
import time
import types

import pytest

from . import oracles
from .asserts import AssertRecorder, compile_tests, outcome_for_exception, short
from .async_tests import async_fixture, provide_pytest_asyncio
from .codec import Opaque, decode_value, encode_value
from .evaluation import judge_eval, judge_exec
from .proxies import (
    TEST_FILE,
    TEST_MODULE,
    CandidateGone,
    Deadline,
    RemoteObject,
    Unsupported,
    is_proxy,
)

JOB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "job")
JOB_FILE = os.path.join(JOB_DIR, "test_job.py")


def _outcome_of(name, test):
    """Run one test; any exception but the job-ending ones becomes its outcome."""
    try:
        test()
        return {"name": name, "outcome": "passed", "message": ""}
    except (Deadline, CandidateGone):
        raise
    except BaseException as exc:
        return outcome_for_exception(exc, name)


def namespace(names):
    ns = {"__name__": TEST_MODULE, "__builtins__": builtins, "eval": judge_eval, "exec": judge_exec}
    ns.update(names)
    return ns


# ---------------------------------------------------------------------------------------------------------------
# The test forms.


def run_asserts(tests, names, conn, outcomes):
    ns = namespace(names)
    setup = tests.get("setup", "")
    if setup.strip():
        exec(compile(setup, TEST_FILE, "exec", dont_inherit=True), ns)
    for stmt in tests["asserts"]:
        def run_statement(stmt=stmt):
            code, asserts = compile_tests(stmt)
            ns["__ic_assert__"] = AssertRecorder(asserts, False, conn)
            exec(code, ns)

        outcomes.append(_outcome_of(_assert_name(stmt), run_statement))


def _assert_name(stmt):
    """An assert's outcome is named by its text; one that the statements it needs come before (`s = Stack();
    s.push(1)` then `assert s.top() == 1`, from a script of asserts) by the assert alone."""
    try:
        body = ast.parse(stmt).body
        if len(body) > 1 and isinstance(body[-1], ast.Assert):
            stmt = ast.get_source_segment(stmt, body[-1]) or stmt
    except (SyntaxError, ValueError):
        pass
    return " ".join(stmt.split())


def run_check(tests, names, conn, outcomes):
    entry_point = tests["entry_point"]
    code, asserts = compile_tests(tests["source"])
    recorder = AssertRecorder(asserts, True, conn)
    ns = namespace(names)
    ns["__ic_assert__"] = recorder
    exec(code, ns)
    if entry_point not in names:
        outcomes.append({"name": f"check({entry_point})", "outcome": "error",
                         "message": f"NameError: the program does not define {entry_point!r}"})
        return
    aborted = None
    try:
        ns["check"](names[entry_point])
    except (Deadline, CandidateGone):
        raise
    except BaseException as exc:
        aborted = outcome_for_exception(exc, f"check({entry_point})")
    for aid, _line, text in asserts:
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


def run_io(tests, names, conn, outcomes, extra):
    """Call the entry point on each input; compare with the expected output (oracles.py), or record outputs."""
    entry = tests["entry_point"]
    fn = names.get(entry)
    if fn is None:
        outcomes.append({"name": "inputs", "outcome": "error",
                         "message": f"NameError: the program does not define {entry!r}"})
        return
    inputs = decode_value(tests["inputs"])
    expected = decode_value(tests["expected"]) if tests.get("expected") is not None else None
    limits = tests.get("time_limits") or None
    atol, oracle = float(tests.get("atol") or 0.0), tests.get("oracle") or "eq"
    outputs, durations = [], []
    for i, args in enumerate(inputs):
        name = f"{entry}(*inputs[{i}])"
        started = time.monotonic()
        if limits:
            conn.input_deadline = started + float(limits[i])
        try:
            got = fn(*args)
        except Deadline as exc:
            if str(exc) != "input":
                raise
            outcomes.append({"name": name, "outcome": "timeout",
                             "message": f"{name} took longer than its limit of {float(limits[i]):.2f} s"})
            raise
        except CandidateGone:
            raise
        except BaseException as exc:
            outcomes.append(outcome_for_exception(exc, name))
            outputs.append(None)
            durations.append(round(time.monotonic() - started, 6))
            continue
        finally:
            conn.input_deadline = None
        durations.append(round(time.monotonic() - started, 6))
        outputs.append(got)
        if expected is None:
            outcomes.append({"name": name, "outcome": "passed", "message": "output recorded"})
            continue
        want = expected[i]
        try:
            matches = oracles.output_matches(got, want, atol, oracle)
        except Unsupported as exc:
            outcomes.append(outcome_for_exception(exc, name))
            continue
        if matches:
            outcomes.append({"name": name, "outcome": "passed", "message": ""})
        else:
            outcomes.append({"name": name, "outcome": "failed", "expected": short(want), "actual": short(got),
                             "message": f"{name} returned {short(got)}, expected {short(want)}"})
    if expected is None:
        extra["outputs"] = encode_value([_recordable(o) for o in outputs])
        extra["durations"] = durations


def _recordable(value):
    """An output as plain data; objects that cannot be copied are recorded as their type and repr."""
    try:
        encode_value(value)
        return value
    except (TypeError, ValueError):
        pass
    if type(value) in (list, tuple):
        return type(value)(_recordable(v) for v in value)
    name = type(value).__name__ if not isinstance(value, RemoteObject) else type(value)._ic_desc.get("qualname")
    return Opaque(str(name), short(value))


def run_stdio(tests, job, conn, outcomes):
    """Whole programs: each case runs the program as __main__ in a fresh process with the case's stdin."""
    compare = tests.get("compare") or "whitespace"
    atol, rtol = float(tests.get("atol") or 0.0), float(tests.get("rtol") or 0.0)
    for i, case in enumerate(tests.get("cases") or []):
        name = f"case {i + 1}"
        reply = conn.request_raw({"program": job["program"], "stdin": str(case.get("stdin", "")),
                                  "timeout_s": job["timeout_s"], "memory_mb": job["memory_mb"]})
        out = base64.b64decode(str(reply.get("stdout", ""))).decode("utf-8", "replace")
        err = str(reply.get("stderr", ""))[-2000:]
        want = str(case.get("stdout", ""))
        if reply.get("timed_out"):
            outcomes.append({"name": name, "outcome": "timeout",
                             "message": f"{name}: no answer within {job['timeout_s']} s"})
            continue
        if reply.get("exit") != 0:
            last = err.strip().splitlines()[-1] if err.strip() else ""
            status = f"exit status {reply.get('exit')}" if reply.get("exit") is not None \
                else f"killed by signal {reply.get('signal')}"
            outcomes.append({"name": name, "outcome": "error", "message": f"{name}: the program ended with {status}"
                             + (f": {last}" if last else ""), "traceback": err})
            continue
        if oracles.stdout_matches(out, want, compare, atol, rtol):
            outcomes.append({"name": name, "outcome": "passed", "message": ""})
        else:
            outcomes.append({"name": name, "outcome": "failed", "expected": short(want), "actual": short(out),
                             "message": f"{name}: input {short(str(case.get('stdin', '')))} printed {short(out)}, "
                                        f"expected {short(want)} (compared {compare})"})


# ---------------------------------------------------------------------------------------------------------------
# pytest modules, run by real pytest: fixtures, parametrize, marks, raises, approx, test classes.


class JobPlugin:
    """A pytest plugin for one job: supplies the test module from memory and records each test's outcome."""

    def __init__(self, source, conn):
        self.code, asserts = compile_tests(source)
        self.recorder = AssertRecorder(asserts, False, conn)
        self.conn = conn
        self.outcomes = {}
        self.fatal = None
        self.loop = None
        self.collected = []
        plugin = self

        class JobModule(pytest.Module):
            def _getobj(self):
                module = types.ModuleType(TEST_MODULE)
                module.__file__ = JOB_FILE
                module.__dict__["__ic_assert__"] = plugin.recorder
                module.__dict__["eval"] = judge_eval  # a string the tests evaluate may be the program's text
                module.__dict__["exec"] = judge_exec
                solution = sys.modules.get("solution")
                if solution is not None:  # the modules `from solution import *` would bring (modules.py)
                    module.__dict__.update(solution.__dict__.get("_ic_star_modules", {}))
                sys.modules[TEST_MODULE] = module  # monkeypatch.setattr(f"{__name__}.X", ...) finds it
                try:
                    exec(plugin.code, module.__dict__)
                except (Deadline, CandidateGone) as exc:
                    plugin.fatal = plugin.fatal or exc
                    raise
                except Unsupported as exc:
                    plugin.outcomes["collect"] = outcome_for_exception(exc, "collect")
                    raise self.CollectError(str(exc)) from None
                except BaseException as exc:
                    plugin.outcomes["collect"] = outcome_for_exception(exc, "collect")
                    raise self.CollectError(plugin.outcomes["collect"]["message"]) from None
                return module

        self.module_class = JobModule

    def pytest_pycollect_makemodule(self, module_path, parent):
        if str(module_path) == JOB_FILE:
            return self.module_class.from_parent(parent, path=module_path)
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makeitem(self, collector, name, obj):
        """The program's own `test_*` functions and `Test*` classes, which `from solution import *` brings into the
        tests' namespace, are not the task's tests: never collected."""
        return [] if is_proxy(obj) else None

    def pytest_collection_modifyitems(self, items):
        self.collected = [item.nodeid.split("::", 1)[-1] for item in items]

    def pytest_internalerror(self, excrepr, excinfo):
        self.outcomes["internal"] = {"name": "pytest", "outcome": "error",
                                     "message": f"the judge failed: {str(excrepr).strip().splitlines()[-1][:1500]}"}

    def pytest_runtest_setup(self, item):
        self.recorder.swallowable.clear()
        self.conn.let_go_of_unheld()  # what the last test made and dropped (its frame is gone by now)

    def pytest_runtest_logfinish(self, nodeid, location):
        self.conn.forget_tracebacks()

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        """An `async def` test runs on the job's event loop, as pytest-asyncio would run it (the image has no such
        plugin), beside the async fixtures it uses."""
        if not inspect.iscoroutinefunction(pyfuncitem.obj):
            return None
        names = pyfuncitem._fixtureinfo.argnames
        self.event_loop().run_until_complete(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
        return True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        """An `async def` fixture (coroutine or async generator, `@pytest.fixture` or `@pytest_asyncio.fixture`)
        runs on the job's event loop, so what it starts there (a server task, a queue) serves the async tests."""
        func = original = fixturedef.func
        if not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)):
            yield
            return
        if request.instance is not None and hasattr(func, "__func__"):  # a fixture of a test class: its instance
            func = func.__func__.__get__(request.instance)
        fixturedef.func = async_fixture(func, self.event_loop())
        try:
            yield
        finally:
            fixturedef.func = original

    def event_loop(self):
        """One loop for the job's async tests and fixtures (a module-scoped async fixture outlives a test)."""
        if self.loop is None or self.loop.is_closed():
            self.loop = asyncio.new_event_loop()
        return self.loop

    def pytest_sessionfinish(self):
        if self.loop is not None and not self.loop.is_closed():
            self.loop.close()

    def pytest_collectreport(self, report):
        if report.failed and "collect" not in self.outcomes:
            self.outcomes["collect"] = {"name": "collect", "outcome": "error",
                                        "message": str(report.longreprtext).strip().splitlines()[-1][:2000]
                                        if report.longreprtext else "the tests could not be collected"}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        result = yield
        self._record(item, call, result.get_result())

    def _record(self, item, call, report):
        name = item.nodeid.split("::", 1)[-1]
        exc = call.excinfo.value if call.excinfo is not None else None
        if isinstance(exc, (Deadline, CandidateGone)):
            self.fatal = self.fatal or exc
            item.session.shouldstop = "the job ended"
        new = None
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
            new = {"name": name, "outcome": "skipped", "message": str(getattr(report, "wasxfail", "") or reason)[:500]}
        elif report.failed:
            if exc is None:  # e.g. a strict xpass
                new = {"name": name, "outcome": "failed", "message": str(report.longreprtext)[-500:]}
            else:
                new = outcome_for_exception(exc, name)
                if call.when != "call" and new["outcome"] not in ("unsupported",):
                    new["outcome"] = "error"
                    new["message"] = f"in {call.when}: {new['message']}"
        elif call.when == "call":
            if self.recorder.swallowable:
                failure = self.recorder.swallowable[0]
                report.outcome = "failed"
                new = {"name": name, "outcome": "failed", "expected": failure.expected, "actual": failure.actual,
                       "message": f"{failure} (raised inside a call from the program, which caught it)"}
            else:
                new = {"name": name, "outcome": "passed", "message": ""}
        if new is not None:
            old = self.outcomes.get(name)
            if old is None or _RANK[new["outcome"]] > _RANK[old["outcome"]]:
                self.outcomes[name] = new


_RANK = {"passed": 0, "skipped": 1, "not_run": 2, "failed": 3, "timeout": 3, "error": 4, "unsupported": 5}


def run_pytest(tests, conn, outcomes):
    provide_pytest_asyncio()
    plugin = JobPlugin(tests["source"], conn)
    args = [JOB_FILE, "-q", "-s", "--noconftest", "-c", os.path.join(JOB_DIR, "pytest.ini"), "--rootdir", JOB_DIR,
            "--basetemp", "/tmp/.pytest-job", "-p", "no:cacheprovider", "-p", "no:stepwise",
            "-p", "no:faulthandler", "-p", "no:pastebin", "-p", "no:junitxml", "-p", "no:doctest",
            "-p", "no:nose", "--tb=no"]  # (pytest 7's nose plugin would call a program's setup() imported by the tests)
    conn.forward = True
    conn.state.forward_logs = True  # the program's log records come back, for caplog
    try:
        code = pytest.main(args, plugins=[plugin])
    finally:
        conn.forward = False
        sys.modules.pop(TEST_MODULE, None)
        outcomes.extend(plugin.outcomes.values())
    if plugin.fatal is not None:
        raise plugin.fatal
    # every collected test has an outcome: a session that ended early (KeyboardInterrupt) never passes the rest
    stopped = "the test session stopped early" + (" (interrupted)" if code == pytest.ExitCode.INTERRUPTED else "")
    outcomes.extend({"name": name, "outcome": "not_run", "message": f"not run: {stopped}"}
                    for name in plugin.collected if name not in plugin.outcomes)
    if code == pytest.ExitCode.INTERRUPTED and not any(o["outcome"] == "not_run" for o in outcomes):
        outcomes.append({"name": "pytest", "outcome": "error", "message": stopped})


def verdict(outcomes, unsupported):
    counted = [o for o in outcomes if o["outcome"] != "skipped"]
    if any(o["message"].startswith("MemoryError") for o in counted):
        return "memory_exceeded", "MemoryError: the program ran out of its memory limit"
    failed = [o for o in counted if o["outcome"] in ("failed", "error", "timeout", "not_run")]
    if unsupported or any(o["outcome"] == "unsupported" for o in counted):
        constructs = unsupported or [o["message"] for o in counted if o["outcome"] == "unsupported"]
        if not any(o["outcome"] == "failed" for o in failed):
            return "unsupported", "not judged: " + "; ".join(constructs)[:1500]
    if not counted:
        return "error", "no tests ran"
    if any(o["outcome"] == "timeout" for o in counted):
        return "timeout", next(o["message"] for o in counted if o["outcome"] == "timeout")
    if not failed and any(o["outcome"] == "passed" for o in counted):
        return "passed", ""
    if any(o["outcome"] == "failed" for o in failed):
        return "failed", ""
    return "error", ""
