"""The sandbox API on ordinary programs: the three test forms, io tests, verdict details, ordering."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.errors import UserError
from sandbox import Job, Tests, run_tests

ADD = "def add(a, b):\n    return a + b\n"


def test_pytest_style_tests_import_the_candidate_as_solution(sandbox):
    tests = Tests("pytest", source="import solution\nfrom solution import add\n\n"
                                   "def test_ints():\n    assert add(2, 3) == 5\n\n"
                                   "def test_module():\n    assert solution.add('a', 'b') == 'ab'\n\n"
                                   "def test_wrong():\n    assert add(1, 1) == 3\n\n"
                                   "def helper():\n    raise RuntimeError('not a test')\n")
    [r] = sandbox.run([Job(ADD, tests)])
    assert r.status == "failed" and (r.passed, r.total) == (2, 3)
    wrong = r.tests[2]
    assert wrong.name == "test_wrong" and wrong.outcome == "failed"
    assert (wrong.actual, wrong.expected) == ("2", "3") and "add(1, 1) == 3" in wrong.message


def test_pytest_raises_sees_the_candidates_exception_type(sandbox):
    program = "def div(a, b):\n    return a // b\n"
    tests = Tests("pytest", source="import pytest\nfrom solution import div\n\n"
                                   "def test_zero():\n    with pytest.raises(ZeroDivisionError):\n        div(1, 0)\n")
    [r] = sandbox.run([Job(program, tests)])
    assert r.ok, r.tests


def test_assert_list_with_setup_imports(sandbox):
    program = "import math\ndef area(r):\n    return math.pi * r * r\n"
    tests = Tests("asserts", asserts=["assert math.isclose(area(1), 3.14159, rel_tol=1e-3)", "assert area(0) == 0"],
                  setup="import math")
    [r] = sandbox.run([Job(program, tests)])
    assert r.ok and r.total == 2


def test_candidate_exception_gives_error_with_its_own_traceback(sandbox):
    program = "def f(x):\n    y = x + 1\n    return [][y]\n"
    [r] = sandbox.run([Job(program, Tests("asserts", asserts=["assert f(1) == 2"]))])
    assert r.status == "error"
    t = r.tests[0]
    assert t.outcome == "error" and t.message.startswith("IndexError")
    assert 'File "solution.py", line 3, in f' in t.traceback and "runner.py" not in t.traceback


def test_syntax_error_has_a_position(sandbox):
    [r] = sandbox.run([Job("def f(:\n    pass\n", Tests("asserts", asserts=["assert f()"]))])
    assert r.status == "syntax_error" and r.syntax_error["line"] == 1 and r.syntax_error["col"] >= 1
    assert r.total == 0


def test_humaneval_check_records_every_assertion(sandbox):
    check = ("def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 5\n"
             "    for i in range(5):\n        assert candidate(i) == i + 1\n")
    [r] = sandbox.run([Job("def inc(x):\n    return x + 1\n", Tests("humaneval", source=check, entry_point="inc"))])
    assert r.status == "failed" and (r.passed, r.total) == (2, 3)
    assert r.tests[1].actual == "3" and r.tests[1].expected == "5"


def test_missing_entry_point_is_an_error(sandbox):
    check = "def check(candidate):\n    assert candidate(1) == 2\n"
    [r] = sandbox.run([Job("def other(x):\n    return x\n", Tests("humaneval", source=check, entry_point="inc"))])
    assert r.status == "error" and "inc" in r.tests[0].message


def test_io_tests_record_outputs_and_compare_with_tolerance(sandbox):
    program = "def half(x):\n    return (x / 2, [x])\n"
    record = Tests("io", entry_point="half", inputs=[[1], [3]], expected=None)
    [r] = sandbox.run([Job(program, record)])
    assert r.ok and r.outputs == [(0.5, [1]), (1.5, [3])]
    assert type(r.outputs[0]) is tuple  # types survive the trip through JSON
    close = Tests("io", entry_point="half", inputs=[[1]], expected=[(0.5 + 1e-9, [1])])
    exact = Tests("io", entry_point="half", inputs=[[1]], expected=[(0.6, [1])])
    ok, bad = sandbox.run([Job(program, close), Job(program, exact)])
    assert ok.ok and bad.status == "failed"


def test_stdout_and_stderr_are_captured(sandbox):
    program = "import sys\nprint('hello')\ndef f():\n    print('warn', file=sys.stderr)\n    return 1\n"
    [r] = sandbox.run([Job(program, Tests("asserts", asserts=["assert f() == 1"]))])
    assert r.ok and r.stdout == "hello\n" and r.stderr == "warn\n"


def test_results_come_back_in_the_order_asked(sandbox):
    jobs = [Job(f"def f():\n    import time\n    time.sleep({0.2 if i % 3 == 0 else 0})\n    return {i}\n",
                Tests("asserts", asserts=[f"assert f() == {i}"])) for i in range(12)]
    results = sandbox.run(jobs)
    assert all(r.ok for r in results)
    futures = [sandbox.submit(j) for j in jobs[:3]]
    assert all(f.result().ok for f in futures)


def test_counter_results_compare_by_content(sandbox):
    program = "from collections import Counter\ndef count(xs):\n    return Counter(xs)\n"
    [r] = sandbox.run([Job(program, Tests("asserts", asserts=["assert count('aab') == {'a': 2, 'b': 1}"]))])
    assert r.ok


def test_no_tests_is_never_a_pass(sandbox):
    [r] = sandbox.run([Job(ADD, Tests("pytest", source="x = 1\n"))])
    assert r.status == "error" and r.message == "no tests ran"


def test_exec_cli_json_and_exit_codes(tmp_path):
    (tmp_path / "solution.py").write_text(ADD)
    (tmp_path / "tests.py").write_text("from solution import add\n\ndef test_add():\n    assert add(2, 2) == 4\n")
    (tmp_path / "bad.py").write_text("from solution import add\n\ndef test_add():\n    assert add(2, 2) == 5\n")
    cmd = [sys.executable, "-m", "infinicode.cli", "exec", str(tmp_path / "solution.py")]
    ok = subprocess.run(cmd + [str(tmp_path / "tests.py"), "--json"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert {"status", "passed", "total", "tests", "stdout", "stderr", "duration_s"} <= set(data)
    assert data["status"] == "passed" and data["tests"][0]["name"] == "test_add"
    bad = subprocess.run(cmd + [str(tmp_path / "bad.py"), "--json"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and json.loads(bad.stdout)["status"] == "failed"
    missing = subprocess.run(cmd + [str(tmp_path / "nope.py")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_exec_tells_a_file_of_test_classes_or_async_tests_is_a_pytest_module(tmp_path):
    from infinicode.cli_sandbox import tests_from_file

    files = {"unittest_only.py": "import unittest\n\nclass ParserTests(unittest.TestCase):\n"
                                 "    def test_x(self):\n        self.assertTrue(True)\n",
             "class_only.py": "class TestParser:\n    def test_x(self):\n        assert True\n",
             "async_only.py": "async def test_x():\n    assert True\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        assert tests_from_file(tmp_path / name).kind == "pytest", name
    (tmp_path / "helpers_only.py").write_text("class Helper:\n    pass\n")
    with pytest.raises(UserError, match="no test_"):
        tests_from_file(tmp_path / "helpers_only.py")


def test_exec_runs_a_script_of_asserts_in_order_with_the_statements_between(sandbox, tmp_path):
    from infinicode.cli_sandbox import tests_from_file

    program = ("class MinStack:\n    def __init__(self):\n        self.items = []\n"
               "    def push(self, x):\n        self.items.append(x)\n"
               "    def pop(self):\n        self.items.pop()\n"
               "    def get_min(self):\n        return min(self.items)\n")
    (tmp_path / "script.py").write_text("import math\ns = MinStack(); s.push(-2); s.push(0); s.push(-3)\n"
                                        "assert s.get_min() == -3\ns.pop()\nassert s.get_min() == -2\n"
                                        "assert math.floor(s.get_min() / 2) == -1\n")
    tests = tests_from_file(tmp_path / "script.py")
    [ok] = sandbox.run([Job(program, tests)])
    assert ok.status == "passed" and ok.total == 3, ok
    assert [t.name for t in ok.tests] == ["assert s.get_min() == -3", "assert s.get_min() == -2",
                                          "assert math.floor(s.get_min() / 2) == -1"]
    [bad] = sandbox.run([Job(program.replace("self.items.pop()", "self.items.pop(0)"), tests)])
    assert [t.outcome for t in bad.tests] == ["passed", "failed", "failed"], bad


def test_exec_cli_tests_import_the_program_by_its_file_name(sandbox, tmp_path):
    (tmp_path / "geometry.py").write_text(ADD)
    (tmp_path / "test_geometry.py").write_text("import geometry\nfrom geometry import add\n\n"
                                               "def test_add():\n    assert add(2, 2) == geometry.add(1, 3) == 4\n")
    run = subprocess.run([sys.executable, "-m", "infinicode.cli", "exec", str(tmp_path / "geometry.py"),
                          str(tmp_path / "test_geometry.py"), "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # a name the judge itself uses is never taken over: `json.py`'s tests cannot import it as json
    [shadow] = sandbox.run([Job(ADD, Tests("pytest", module="json", source=(
        "import json\n\ndef test_json():\n    assert json.dumps([1]) == '[1]' and not hasattr(json, 'add')\n")))])
    assert shadow.status == "passed", shadow


def test_star_import_warnings_docstrings_and_unittest_classes():
    """Ordinary test code beyond plain calls: `from solution import *`, pytest.warns on the program's warnings,
    docstrings and names of its functions and classes, unittest.TestCase classes."""
    program = ('"""Boxes."""\nimport warnings\nLIMIT = 3\n\ndef old(x):\n    """Deprecated."""\n'
               '    warnings.warn("old() is deprecated", DeprecationWarning)\n    return x\n\n'
               'class Box:\n    """A box."""\n    def __init__(self):\n        self.v = 1\n')
    tests = ('import unittest\nimport pytest\nfrom solution import *\n\n'
             'def test_star():\n    assert LIMIT == 3 and old(2) == 2\n\n'
             'def test_warns():\n    with pytest.warns(DeprecationWarning, match="deprecated"):\n        old(1)\n\n'
             'def test_docs():\n    assert old.__name__ == "old" and old.__doc__ == "Deprecated."\n'
             '    assert Box.__doc__ == "A box." and Box().__doc__ == "A box."\n'
             '    import solution\n    assert solution.__doc__ == "Boxes."\n\n'
             'class TestBox(unittest.TestCase):\n    def test_v(self):\n        self.assertEqual(Box().v, 1)\n'
             '        with self.assertRaises(TypeError):\n            old()\n')
    result = run_tests(program, Tests("pytest", source=tests), memory_mb=256)
    assert result.ok, (result.status, result.message, result.tests)
    assert [t.name for t in result.tests] == ["test_star", "test_warns", "test_docs", "TestBox::test_v"]
    silent = run_tests(program.replace("    warnings.warn", "    # warnings.warn"), Tests("pytest", source=tests),
                       memory_mb=256)
    assert silent.status == "failed" and [t.name for t in silent.tests if t.outcome == "failed"] == ["test_warns"]


def test_property_based_tests_with_hypothesis():
    """Hypothesis ships in the sandbox image: property tests run many calls, and a wrong program's failure shows
    the falsifying example."""
    tests = ("from hypothesis import given, strategies as st\nfrom solution import rev\n\n"
             "@given(st.lists(st.integers()))\ndef test_twice(xs):\n    assert rev(rev(xs)) == xs\n")
    good = run_tests("def rev(xs):\n    return xs[::-1]\n", Tests("pytest", source=tests), memory_mb=256)
    assert good.ok, (good.status, good.message, good.tests)
    bad = run_tests("def rev(xs):\n    return sorted(xs)\n", Tests("pytest", source=tests), memory_mb=256)
    assert bad.status == "failed" and "left [" in bad.tests[0].message


def test_patching_the_program_from_the_tests_reaches_its_own_calls():
    """monkeypatch / mock.patch of `solution.fetch` replace what the program's own code calls, and are undone;
    the program's objects can be copied; a coroutine is awaited with asyncio.run; a test class deriving from the
    program's class makes objects the program's methods work on."""
    program = ("import copy\n\ndef fetch(url):\n    raise RuntimeError('no network in tests')\n\n"
               "def titles(urls):\n    return [fetch(u).upper() for u in urls]\n\n"
               "async def double(x):\n    return 2 * x\n\n"
               "class Board:\n    def __init__(self):\n        self.cells = [0, 0]\n    def play(self, i):\n"
               "        self.cells[i] = 1\n")
    tests = ("import asyncio, copy\nfrom unittest import mock\nimport solution\n\n"
             "def test_monkeypatch(monkeypatch):\n"
             "    monkeypatch.setattr(solution, 'fetch', lambda url: 'page ' + url)\n"
             "    assert solution.titles(['a', 'b']) == ['PAGE A', 'PAGE B']\n\n"
             "def test_undone():\n    try:\n        solution.titles(['a'])\n"
             "    except RuntimeError as e:\n"
             "        assert 'no network' in str(e)\n"
             "    else:\n        raise AssertionError('fetch was not restored')\n\n"
             "def test_mock_patch():\n    with mock.patch('solution.fetch', return_value='x') as fake:\n"
             "        assert solution.titles(['u']) == ['X']\n    fake.assert_called_once_with('u')\n\n"
             "def test_copies():\n    board = solution.Board()\n    snapshot = copy.deepcopy(board)\n"
             "    board.play(0)\n"
             "    assert board.cells == [1, 0] and snapshot.cells == [0, 0]\n\n"
             "def test_coroutine():\n    assert asyncio.run(solution.double(21)) == 42\n")
    result = run_tests(program, Tests("pytest", source=tests), memory_mb=256)
    assert result.ok, (result.status, result.message, [(t.name, t.outcome, t.message) for t in result.tests])
    subclass = ("from solution import Board\n\nclass MyBoard(Board):\n    def play(self, i):\n        pass\n\n"
                "def test_subclass():\n    assert MyBoard().cells == [0, 0]\n")
    derived = run_tests(program, Tests("pytest", source=subclass), memory_mb=256)
    assert derived.ok, (derived.status, derived.message, derived.tests)


def test_input_and_stdin_come_from_the_tests():
    """A function that calls input() or reads sys.stdin reads what the tests patched in; nothing patched is EOF."""
    program = ("import sys\n\ndef greet():\n    name = input('Name? ')\n    print(f'Hello, {name}!')\n\n"
               "def total():\n    return sum(int(line) for line in sys.stdin)\n\ndef ask():\n    return input()\n")
    tests = ("import io\nimport pytest\nfrom solution import ask, greet, total\n\n"
             "def test_greet(monkeypatch, capsys):\n"
             "    monkeypatch.setattr('builtins.input', lambda prompt='': 'Ada')\n"
             "    greet()\n    assert capsys.readouterr().out == 'Hello, Ada!\\n'\n\n"
             "def test_stdin(monkeypatch):\n    monkeypatch.setattr('sys.stdin', io.StringIO('1\\n2\\n3\\n'))\n"
             "    assert total() == 6\n\n"
             "def test_nothing_to_read():\n    with pytest.raises(EOFError):\n        ask()\n")
    result = run_tests(program, Tests("pytest", source=tests), memory_mb=256)
    assert result.ok, (result.status, result.message, [(t.name, t.outcome, t.message) for t in result.tests])


def test_a_container_lost_mid_run_is_no_verdict_the_job_runs_again():
    """The engine losing a container (here: killed from outside while an honest program runs) is not the program's
    fault: the job runs once more on a fresh container and gets its real verdict."""
    import threading
    import time

    from sandbox import Sandbox

    program = "import time\ndef add(a, b):\n    time.sleep(1.5)\n    return a + b\n"
    with Sandbox(workers=1) as sb:
        first = sb.created[0]
        killer = threading.Timer(0.7, lambda: sb.client.containers.get(first).kill())
        killer.start()
        started = time.monotonic()
        [r] = sb.run([Job(program, Tests("asserts", asserts=["assert add(2, 3) == 5"]), timeout_s=5)])
        killer.join()
        assert r.status == "passed", (r.status, r.message)
        assert len(sb.created) == 2 and time.monotonic() - started > 1.5  # it ran twice, the second time in full
