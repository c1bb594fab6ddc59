"""Spec files: the examples load and their references pass their own tests; bad specs fail with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import UserError
from agent.spec import Budget, load_spec
from sandbox import Job

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml"))

GOOD = '''
name = "double"
description = "Return twice x."
entry_point = "double"
signature = "def double(x: int) -> int"

[tests]
asserts = ["assert double(2) == 4"]
'''


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_there_are_at_least_five_examples_of_both_test_kinds():
    assert len(EXAMPLES) >= 5
    kinds = {load_spec(p).tests.kind for p in EXAMPLES}
    assert kinds == {"pytest", "asserts"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_loads_with_a_reference(path):
    task = load_spec(path)
    assert task.name == path.stem == task.task_id
    assert task.reference and task.entry_point in task.reference
    assert task.signature.startswith(f"def {task.entry_point}(")


def test_example_references_pass_their_tests_in_the_sandbox(sandbox):
    tasks = [load_spec(p) for p in EXAMPLES]
    results = sandbox.run([Job(t.reference, t.tests, timeout_s=t.timeout_s, memory_mb=t.memory_mb) for t in tasks])
    verdicts = {t.name: (r.status, r.passed, r.total) for t, r in zip(tasks, results)}
    assert all(status == "passed" and total > 0 for status, _, total in verdicts.values()), verdicts


def test_minimal_spec_gets_defaults(tmp_path):
    task = load_spec(write(tmp_path, GOOD))
    assert task.tests.kind == "asserts" and task.tests.asserts == ["assert double(2) == 4"]
    assert task.timeout_s == 10.0 and task.memory_mb == 512 and task.budget == Budget()
    assert task.reference is None and task.prompt_code is None


def test_limits_and_budget_are_read(tmp_path):
    task = load_spec(write(tmp_path, GOOD + "\n[limits]\ntimeout_s = 2.5\nmemory_mb = 128\n"
                           "[budget]\nsamples = 3\nrounds = 5\nmax_tokens = 900\ntime_s = 60\n"))
    assert (task.timeout_s, task.memory_mb) == (2.5, 128)
    assert task.budget == Budget(samples=3, rounds=5, max_tokens=900, time_s=60.0)


def test_signature_colon_is_optional(tmp_path):
    task = load_spec(write(tmp_path, GOOD.replace('-> int"', '-> int:"')))
    assert task.signature == "def double(x: int) -> int"


def _top(line: str) -> str:
    """GOOD with a line at top level (before the first table)."""
    return GOOD.replace("[tests]", line + "\n[tests]")


def _swap(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


BAD = [
    # (spec text, key named in the message, words of the problem)
    (_swap('name = "double"\n', ""), "name", "missing"),
    (_swap('name = "double"', 'name = "two words"'), "name", "letters, digits"),
    (_swap('name = "double"', "name = 3"), "name", "must be a string"),
    (_swap('description = "Return twice x."', 'description = "  "'), "description", "empty"),
    (_top('language = "rust"'), "language", "only \"python\""),
    (_swap('entry_point = "double"', 'entry_point = "class"'), "entry_point", "not a Python function name"),
    (_swap('"def double(x: int) -> int"', '"def triple(x: int) -> int"'), "signature", "entry_point is 'double'"),
    (_swap('"def double(x: int) -> int"', '"double(x)"'), "signature", "must be a def line"),
    (_swap('"def double(x: int) -> int"', '"def double(x: int -> int"'), "signature", "not valid Python"),
    (_swap('[tests]\nasserts = ["assert double(2) == 4"]', ""), "tests", "missing"),
    (_swap('asserts = ["assert double(2) == 4"]', "asserts = []"), "tests.asserts", "non-empty array"),
    (_swap('"assert double(2) == 4"', '"assert double(2) == 4", "double(2)"'), "tests.asserts[1]",
     "one assert statement"),
    (_swap('"assert double(2) == 4"', '"assert double(2 == 4"'), "tests.asserts[0]", "not valid Python"),
    (_swap('asserts = ["assert double(2) == 4"]', "pytest = 'x = 1'"), "tests.pytest", "no `def test_"),
    (_swap('asserts = ["assert double(2) == 4"]', 'pytest = "def test_a():\\n    assert double(2) == 4"'),
     "tests.pytest", "from solution import double"),
    (_swap('asserts = ["assert double(2) == 4"]',
           'asserts = ["assert double(2) == 4"]\npytest = "from solution import double\\ndef test_a(): pass"'),
     "tests", "exactly one of"),
    (_swap('asserts = ["assert double(2) == 4"]',
           'pytest = "from solution import double\\ndef test_a(): pass"\nsetup = "import math"'),
     "tests.setup", "only goes with `asserts`"),
    (_swap('asserts = ["assert double(2) == 4"]',
           'pytest = "from solution import double\\ndef test_a(x):\\n    assert double(x) == 2 * x"'),
     "tests.pytest", "test_a takes arguments"),
    (_top('colour = "red"'), "colour", "unknown key"),
    (GOOD.replace("[tests]\n", "[tests]\ntimeout = 3\n"), "tests.timeout", "unknown key"),
    (GOOD + "[limits]\ntimeout_s = -1\n", "limits.timeout_s", "between"),
    (GOOD + "[limits]\nmemory_mb = \"lots\"\n", "limits.memory_mb", "must be an integer"),
    (GOOD + "[budget]\nsamples = 0\n", "budget.samples", ">= 1"),
    (GOOD + "[budget]\nrounds = 1.5\n", "budget.rounds", "must be an integer"),
    (_top("limits = 3"), "limits", "must be a table"),
    (_top('reference = "def other(x):\\n    return 2 * x"'), "reference", "does not define 'double'"),
    (_top('reference = "def double(x)\\n    return 2 * x"'), "reference", "not valid Python"),
]


@pytest.mark.parametrize("text,key,problem", BAD, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD)])
def test_bad_spec_names_file_key_and_problem(tmp_path, text, key, problem):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message, message
    assert "\n" not in message


def test_invalid_toml_names_the_file_and_position(tmp_path):
    path = write(tmp_path, GOOD + "name = \n")
    with pytest.raises(UserError, match=r"spec\.toml: not valid TOML .*line \d+"):
        load_spec(path)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such spec file"):
        load_spec(tmp_path / "nope.toml")
