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


def test_there_are_examples_of_every_test_form_and_entry_point_shape():
    assert len(EXAMPLES) >= 5
    tasks = [load_spec(p) for p in EXAMPLES]
    assert {t.tests.kind for t in tasks} == {"pytest", "asserts", "stdio"}
    assert any(t.signature.startswith("class ") or "\nclass " in t.signature for t in tasks)  # a class
    assert any(len(t.names) > 1 and all(n in t.reference for n in t.names) for t in tasks)  # several names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_loads_with_a_reference(path):
    task = load_spec(path)
    assert task.name == path.stem == task.task_id
    assert task.reference
    if task.is_program:
        assert task.entry_point == task.signature == "" and task.names == []
    else:
        assert task.names[0] == task.entry_point
        assert all(f"def {name}(" in task.reference or f"class {name}" in task.reference for name in task.names)


def test_example_references_pass_their_tests_in_the_sandbox(sandbox):
    tasks = [load_spec(p) for p in EXAMPLES]
    results = sandbox.run([Job(t.reference, t.tests, timeout_s=t.timeout_s, memory_mb=t.memory_mb) for t in tasks])
    verdicts = {t.name: (r.status, r.passed, r.total) for t, r in zip(tasks, results, strict=True)}
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
    (_swap('entry_point = "double"', 'entry_point = "class"'), "entry_point", "not a Python function or class name"),
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


# ---------------------------------------------------------------- classes, several functions, whole programs

CLASS_SPEC = """
name = "counter"
description = "A counter."
entry_point = "Counter"
signature = '''
class Counter:
    def __init__(self, start: int = 0)   # colons are optional
    def increment(self) -> int:
    def value(self) -> int
'''
reference = '''
class Counter:
    def __init__(self, start=0):
        self.n = start

    def increment(self):
        self.n += 1
        return self.n

    def value(self):
        return self.n
'''

[tests]
pytest = '''
import pytest
from solution import Counter

@pytest.fixture
def counter():
    return Counter(5)

@pytest.mark.parametrize("times", [0, 1, 3])
def test_increment(counter, times):
    for _ in range(times):
        counter.increment()
    assert counter.value() == 5 + times
    assert isinstance(counter, Counter)

def test_starts_at_zero():
    assert Counter().increment() == 1
'''
"""

FUNCTIONS_SPEC = """
name = "codec"
description = "Encode and decode."
entry_point = "encode"
signature = '''
def encode(s: str) -> str
def decode(s: str) -> str
'''
reference = '''
def encode(s):
    return s[::-1]

def decode(s):
    return s[::-1]
'''

[tests]
asserts = ["assert decode(encode('abc')) == 'abc'", "assert encode('ab') == 'ba'"]
"""

STDIO_SPEC = """
name = "double_stdio"
description = "Read an integer n and print 2 * n."
reference = "print(2 * int(input()))"

[tests]
stdio = [{stdin = "2\\n", stdout = "4\\n"}, {stdin = "-1", stdout = "-2"}]
"""


def test_class_spec_keeps_its_methods_and_allows_fixtures_and_parametrize(tmp_path):
    task = load_spec(write(tmp_path, CLASS_SPEC))
    assert task.entry_point == "Counter" and task.names == ["Counter"]
    assert task.signature.startswith("class Counter:\n    def __init__(self, start: int = 0)")
    assert task.tests.kind == "pytest" and "@pytest.mark.parametrize" in task.tests.source


def test_several_functions_name_the_main_one_first(tmp_path):
    task = load_spec(write(tmp_path, FUNCTIONS_SPEC))
    assert task.entry_point == "encode" and task.names == ["encode", "decode"]
    task = load_spec(write(tmp_path, FUNCTIONS_SPEC.replace('entry_point = "encode"', 'entry_point = "decode"')))
    assert task.names == ["decode", "encode"]


def test_stdio_spec_needs_no_entry_point_and_fills_the_sandbox_tests(tmp_path):
    task = load_spec(write(tmp_path, STDIO_SPEC))
    assert task.is_program and task.entry_point == "" and task.signature == "" and task.names == []
    t = task.tests
    assert (t.kind, t.compare, t.atol, t.rtol) == ("stdio", "whitespace", 0.0, 0.0)
    assert t.cases == [{"stdin": "2\n", "stdout": "4\n"}, {"stdin": "-1", "stdout": "-2"}]
    tokens = load_spec(write(tmp_path, STDIO_SPEC + 'compare = "tokens"\natol = 0.001\nrtol = 1e-9\n'))
    assert (tokens.tests.compare, tokens.tests.atol, tokens.tests.rtol) == ("tokens", 0.001, 1e-9)
    no_stdin = load_spec(write(tmp_path, STDIO_SPEC.replace('{stdin = "-1", stdout = "-2"}', '{stdout = "0"}')))
    assert no_stdin.tests.cases[1] == {"stdin": "", "stdout": "0"}


def _in(spec: str, old: str, new: str) -> str:
    assert old in spec, old
    return spec.replace(old, new)


SHAPE_BAD = [
    (_in(CLASS_SPEC, "    def value(self) -> int\n", "    x = 1 +\n"), "signature", "not valid Python (line 4"),
    (_in(CLASS_SPEC, "    def value(self) -> int\n", "    for x in y: pass\n"), "signature",
     "class Counter: line 4 is not a def line"),
    (_in(CLASS_SPEC, "class Counter:\n", "print('hi')\nclass Counter:\n"), "signature",
     "line 1 is \"print('hi')\""),
    (_in(CLASS_SPEC, 'entry_point = "Counter"', 'entry_point = "Count"'), "signature",
     "defines 'Counter' but entry_point is 'Count'"),
    (_in(CLASS_SPEC, "    def value(self):\n        return self.n\n", ""), "reference",
     "class Counter does not define value"),
    (_in(CLASS_SPEC, "import pytest\nfrom solution import Counter", "import pytest"), "tests.pytest",
     "from solution import Counter"),
    (_in(FUNCTIONS_SPEC, "def decode(s):\n    return s[::-1]\n", ""), "reference", "does not define 'decode'"),
    (_in(FUNCTIONS_SPEC, "def decode(s: str) -> str\n", "def encode(s: str) -> str\n"), "signature",
     "defines 'encode' twice"),
    (_in(FUNCTIONS_SPEC, 'entry_point = "encode"', 'entry_point = "main"'), "signature",
     "defines 'encode', 'decode' but entry_point is 'main'"),
    (_in(STDIO_SPEC, 'name = "double_stdio"', 'name = "double_stdio"\nentry_point = "main"'), "entry_point",
     "not used with `stdio` tests"),
    (_in(STDIO_SPEC, 'name = "double_stdio"', 'name = "double_stdio"\nsignature = "def main()"'), "signature",
     "remove it"),
    (STDIO_SPEC.split("stdio = [")[0] + "stdio = 3\n", "tests.stdio", "non-empty array"),
    (_in(STDIO_SPEC, '{stdin = "-1", stdout = "-2"}', '"-1"'), "tests.stdio[1]", "must be a table"),
    (_in(STDIO_SPEC, '{stdin = "-1", stdout = "-2"}', '{stdin = "-1"}'), "tests.stdio[1].stdout", "missing"),
    (_in(STDIO_SPEC, '{stdin = "-1", stdout = "-2"}', '{stdin = "-1", stdout = -2}'), "tests.stdio[1].stdout",
     "must be a string"),
    (_in(STDIO_SPEC, '{stdin = "-1", stdout = "-2"}', '{stdin = "-1", out = "-2"}'), "tests.stdio[1].out",
     "unknown key"),
    (STDIO_SPEC + 'compare = "fuzzy"\n', "tests.compare", "must be one of 'exact', 'whitespace', 'tokens'"),
    (STDIO_SPEC + "atol = 0.1\n", "tests.atol", 'only applies with compare = "tokens"'),
    (STDIO_SPEC + 'compare = "tokens"\nrtol = -1\n', "tests.rtol", ">= 0"),
    (STDIO_SPEC + 'setup = "import math"\n', "tests.setup", "only goes with `asserts`"),
    (_in(STDIO_SPEC, "[tests]\n", "[tests]\nasserts = ['assert True']\n"), "tests", "exactly one of"),
    (_in(STDIO_SPEC, 'reference = "print(2 * int(input()))"', 'reference = "print(2 *"'), "reference",
     "not valid Python"),
    (GOOD.replace("[tests]\n", "[tests]\ncompare = \"exact\"\n"), "tests.compare", "only goes with `stdio`"),
]


@pytest.mark.parametrize("text,key,problem", SHAPE_BAD, ids=[f"{i}-{b[1]}" for i, b in enumerate(SHAPE_BAD)])
def test_bad_class_functions_and_stdio_specs_name_file_key_and_problem(tmp_path, text, key, problem):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message, message
    assert "\n" not in message


# ---------------------------------------------------------------- round-0 prompts for each shape


def test_prompt_for_one_function_is_unchanged(tmp_path):
    from agent.prompts import task_text

    text = task_text(load_spec(write(tmp_path, GOOD)))
    assert text == ("Write a Python function `double`.\n\nReturn twice x.\n\nUse this signature:\n"
                    "def double(x: int) -> int\n\nExamples:\nassert double(2) == 4\n\n"
                    "Reply with the complete function in one ```python code block.")


def test_prompt_for_a_class_shows_its_methods_as_headers(tmp_path):
    from agent.prompts import task_text

    text = task_text(load_spec(write(tmp_path, CLASS_SPEC)))
    assert text.startswith("Write a Python class `Counter`.")
    assert ("Use this class signature:\n```python\nclass Counter:\n    def __init__(self, start: int = 0):\n"
            "    def increment(self) -> int:\n    def value(self) -> int:\n```") in text
    assert "# colons are optional" not in text
    assert "assert Counter().increment() == 1" in text  # an example that needs no fixture
    assert "counter.value()" not in text  # one that does is left out
    assert text.endswith("Reply with the complete class in one ```python code block.")


def test_prompt_for_several_functions_names_them_all(tmp_path):
    from agent.prompts import task_text

    text = task_text(load_spec(write(tmp_path, FUNCTIONS_SPEC)))
    assert text.startswith("Write Python code defining `encode` and `decode`.")
    assert "```python\ndef encode(s: str) -> str:\ndef decode(s: str) -> str:\n```" in text
    assert "assert decode(encode('abc')) == 'abc'" in text
    assert text.endswith("Reply with the complete code, every definition, in one ```python code block.")


def test_prompt_for_stdio_asks_for_a_program_with_input_output_examples(tmp_path):
    from agent.prompts import task_text

    text = task_text(load_spec(write(tmp_path, STDIO_SPEC)))
    assert text.startswith("Write a Python program.\n\nRead an integer n and print 2 * n.")
    assert "standard input" in text and "standard output" in text
    assert "Example 1 input:\n```text\n2\n```\nExample 1 output:\n```text\n4\n```" in text
    assert "Example 2 input:\n```text\n-1\n```" in text
    assert "signature" not in text
    assert text.endswith("Reply with the complete program in one ```python code block.")


def test_refinement_asks_for_the_same_shape(tmp_path):
    from agent.feedback import fix_instruction

    shapes = {spec: load_spec(write(tmp_path, spec)) for spec in (GOOD, CLASS_SPEC, FUNCTIONS_SPEC, STDIO_SPEC)}
    assert "corrected function " in fix_instruction(shapes[GOOD])
    assert "corrected class " in fix_instruction(shapes[CLASS_SPEC])
    assert "every definition" in fix_instruction(shapes[FUNCTIONS_SPEC])
    assert "corrected program " in fix_instruction(shapes[STDIO_SPEC])


# ---------------------------------------------------------------- the shapes in the real sandbox


BUGGY = {
    # the least recently used key is not refreshed by get: the wrong key is evicted
    "lru_cache": ("self._entries.move_to_end(key)\n        return", "return"),
    # averages the wrong window
    "moving_average": ("/ window", "/ (window + 1)"),
    # weekday off by one
    "iso_dates": ("WEEKDAYS[d.weekday()]", "WEEKDAYS[d.weekday() - 1]"),
    # integer division of the average
    "pair_sums_stdio": ("sum(sums) / n", "sum(sums) // n"),
}


def test_buggy_versions_of_the_new_examples_fail_with_what_differed(sandbox):
    tasks = {name: load_spec(EXAMPLES[0].parent / f"{name}.toml") for name in BUGGY}
    jobs = []
    for name, (old, new) in BUGGY.items():
        assert old in tasks[name].reference, name
        jobs.append(Job(tasks[name].reference.replace(old, new), tasks[name].tests))
    results = dict(zip(BUGGY, sandbox.run(jobs), strict=True))
    for name, result in results.items():
        assert result.status == "failed", (name, result.status, result.message)
        assert 0 < result.passed < result.total, (name, result.passed, result.total)
    lru = {t.name: t for t in results["lru_cache"].tests}
    assert lru["test_least_recently_used_is_evicted"].outcome == "failed"
    assert lru["test_is_an_lru_cache"].outcome == "passed"  # isinstance against the candidate's own class
    assert lru["test_bad_capacity_raises_its_own_error[0]"].outcome == "passed"  # its own exception class
    failed_case = next(t for t in results["pair_sums_stdio"].tests if t.outcome == "failed")
    assert failed_case.name == "case 4" and "1.3333333333333333" in failed_case.expected


class _TextGenerator:
    """Answers with fixed texts; the loop extracts the code from them."""

    context_length = 4096
    name = "texts"

    def __init__(self, texts: list[str]):
        self.texts, self.calls = list(texts), []

    def sample(self, messages, n, **kw):
        from agent.provider import Sample

        self.calls.append({"messages": messages})
        texts, self.texts = self.texts[:n], self.texts[n:]
        return [Sample(text=t, prompt_tokens=10, completion_tokens=len(t.split())) for t in texts]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_the_loop_solves_a_stdio_spec_from_fenced_programs_with_a_main_guard(sandbox, tmp_path):
    from agent.extract import PROGRAM, extraction_target
    from agent.orchestrator import solve_task

    task = load_spec(EXAMPLES[0].parent / "pair_sums_stdio.toml")
    right = task.reference.strip("\n") + "\n"
    wrong = right.replace("sum(sums) / n", "sum(sums) // n")
    generator = _TextGenerator([f"Here is the program:\n```python\n{wrong}```\nIt reads stdin.",
                                f"Fixed:\n```python\n{right}```\n"])
    result = solve_task(task, generator, sandbox, tmp_path / "run", samples=1, rounds=2)
    assert result.solved and result.solution == right  # the main guard and top-level code were kept
    assert extraction_target(task) == PROGRAM and len(generator.calls) == 2
    fix_prompt = generator.calls[1]["messages"][-1]["content"]
    assert "Your program printed:\n```text\n7\n0\n-3\n1\n```" in fix_prompt
    assert "Input:\n```text\n3\n10 -3\n0 0\n-2 -1\n```" in fix_prompt


def test_the_loop_solves_a_class_spec_given_in_two_blocks(sandbox, tmp_path):
    from agent.extract import extraction_target
    from agent.orchestrator import solve_task

    task = load_spec(EXAMPLES[0].parent / "lru_cache.toml")
    head, rest = task.reference.split("class LRUCache:", 1)
    text = f"First the error:\n```python\n{head}```\nThen the cache:\n```python\nclass LRUCache:{rest}```\n"
    generator = _TextGenerator([text])
    result = solve_task(task, generator, sandbox, tmp_path / "run", samples=1, rounds=1)
    assert extraction_target(task) == ["LRUCache", "CapacityError"]
    assert result.solved, result.best_score
