"""Refinement prompts from real sandbox verdicts, and how they are cut to fit a model's context."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.feedback import build_refinement
from agent.spec import load_spec
from sandbox import Job, RunResult
from sandbox import TestOutcome as Outcome

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class WordCounter:
    """A generator's token accounting without a model: one token per whitespace-separated word."""

    def __init__(self, context_length: int):
        self.context_length = context_length

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.fixture(scope="module")
def run_length():
    return load_spec(EXAMPLES / "run_length.toml")


def _run(sandbox, task, code, **limits):
    job = Job(code, task.tests, timeout_s=limits.get("timeout_s", task.timeout_s),
              memory_mb=limits.get("memory_mb", task.memory_mb))
    return sandbox.run([job])[0]


def _user(prompt) -> str:
    assert [m["role"] for m in prompt.messages] == ["system", "user"]
    return prompt.messages[1]["content"]


def test_wrong_answer_shows_code_failing_tests_and_values(sandbox, run_length):
    code = "def encode(s):\n    return ''.join(c + '1' for c in s)\n"
    result = _run(sandbox, run_length, code)
    assert result.status == "failed"
    prompt = build_refinement(run_length, code, result, WordCounter(4096))
    text = _user(prompt)
    assert code.strip() in text
    assert run_length.description.splitlines()[0] in text and run_length.signature in text
    failing = [t.name for t in result.tests if t.outcome != "passed"]
    assert len(failing) > 1 and all(text.count(name) == 1 for name in failing)  # each named once, with details
    assert "Failing tests:" not in text and "Also failing:" not in text
    assert "Test test_example failed" in text
    assert "expected: 'a3b1c2'" in text and "got:      'a1a1a1b1c1c1'" in text
    assert "Test test_long_run failed" in text and "'z12'" in text  # the other failures too
    assert text.rstrip().endswith("```python code block.")
    assert prompt.kept[0] == "first_failure" and prompt.dropped == []


def test_syntax_error_shows_line_col_and_the_line(sandbox, run_length):
    code = "def encode(s)\n    return s\n"
    result = _run(sandbox, run_length, code)
    assert result.status == "syntax_error"
    text = _user(build_refinement(run_length, code, result, WordCounter(4096)))
    assert "It is not valid Python." in text
    assert "Syntax error at 1:14: expected ':'" in text
    assert "    1 | def encode(s)\n      |              ^" in text


def test_crash_shows_traceback_tail_and_stdout(sandbox, run_length):
    code = "def encode(s):\n    print('looking at', s)\n    return s[0] + 1\n"
    result = _run(sandbox, run_length, code)
    text = _user(build_refinement(run_length, code, result, WordCounter(4096)))
    assert "Traceback (last lines):" in text and 'File "solution.py", line 3, in encode' in text
    assert "TypeError" in text
    assert "It printed:" in text and "looking at aaabcc" in text


def test_timeout_note(sandbox, run_length):
    code = "def encode(s):\n    while True:\n        pass\n"
    result = _run(sandbox, run_length, code, timeout_s=1)
    assert result.status == "timeout"
    text = _user(build_refinement(run_length, code, result, WordCounter(4096)))
    assert "longer than the 10 s limit" in text and "infinite loop" in text


def test_memory_note(sandbox, run_length):
    code = "def encode(s):\n    hog = [0] * (10 ** 9)\n    return s\n"
    result = _run(sandbox, run_length, code, memory_mb=64)
    assert result.status == "memory_exceeded"
    text = _user(build_refinement(run_length, code, result, WordCounter(4096)))
    assert f"more than the {run_length.memory_mb} MB memory limit" in text


def _busy_result() -> RunResult:
    """A verdict with every kind of evidence, each of a known size."""
    failures = [Outcome(name=f"test_case_{i}", outcome="failed", message=f"assert encode(x{i}) == y{i}",
                            expected=repr(f"value {i} " * 5), actual=repr(f"other {i} " * 5),
                            traceback="\n".join(f'  File "solution.py", line {k}, in encode' for k in range(30)))
                for i in range(6)]
    return RunResult(status="failed", passed=1, total=7,
                     tests=[Outcome(name="test_ok", outcome="passed")] + failures,
                     stdout="\n".join(f"debug line {k} with some words" for k in range(40)))


BROKEN = "def encode(s)\n" + "".join(f"    step_{k} = {k}\n" for k in range(10)) + "    return s\n"


def test_cutting_keeps_the_most_useful_evidence_first(run_length):
    result = _busy_result()
    full = build_refinement(run_length, BROKEN, result, WordCounter(100_000), max_new_tokens=100)
    assert full.kept[:3] == ["first_failure", "syntax", "traceback"]
    assert full.kept[-1] == "stdout" and full.dropped == []

    sizes = []
    for context in (full.prompt_tokens + 100, 700, 550, 500, 470):
        prompt = build_refinement(run_length, BROKEN, result, WordCounter(context), max_new_tokens=100)
        room = context - 100 - 16
        assert prompt.prompt_tokens <= room, (context, prompt.prompt_tokens)
        text = _user(prompt)
        assert BROKEN.strip() in text
        # whatever is dropped, nothing ranked below it survives unless it is shorter: the first failure and
        # its values go last
        assert "first_failure" in prompt.kept and "expected: " in text
        sizes.append((context, prompt.kept, prompt.dropped))
    kept_small = sizes[-1][1]
    assert "stdout" not in kept_small and "stdout" in sizes[-1][2]
    assert set(kept_small) <= set(sizes[0][1])
    assert len(sizes[-1][1]) < len(sizes[0][1])


def test_cut_order_follows_priority(run_length):
    """Shrinking the room drops evidence from the bottom of the priority list up; the first failure stays."""
    result = _busy_result()
    priority = ["first_failure", "syntax", "traceback"] + [f"failure_{i}" for i in range(1, 6)] + ["stdout"]
    first_cut = None
    for context in range(1200, 319, -20):  # down to the room for the essentials and the first failure
        prompt = build_refinement(run_length, BROKEN, result, WordCounter(context), max_new_tokens=100)
        ranks = [priority.index(k) for k in prompt.kept]
        assert ranks == sorted(ranks)  # kept evidence is reported in priority order
        text = _user(prompt)
        assert "first_failure" in prompt.kept and "expected: " in text
        # every failing test is named once: with its details, or in the line of those whose details were cut
        assert all(text.count(f"test_case_{i}") == 1 for i in range(6))
        cut = [f"test_case_{i}" for i in range(1, 6) if f"failure_{i}" not in prompt.kept]
        assert (f"Also failing: {', '.join(cut)}" in text) if cut else "Also failing" not in text
        if first_cut is None and prompt.dropped:
            first_cut = prompt.dropped
    assert first_cut == ["stdout"]  # the first thing to go is the least useful
    assert prompt.kept in (["first_failure"], ["first_failure", "syntax"])  # at the smallest room
    assert "Also failing: test_case_1, test_case_2, test_case_3, test_case_4, test_case_5" in text


def test_code_is_cut_when_even_the_code_does_not_fit(run_length):
    long_code = "def encode(s):\n" + "".join(f"    x_{k} = s * {k}  # a comment that is long\n"
                                              for k in range(200)) + "    return s\n"
    result = _busy_result()
    prompt = build_refinement(run_length, long_code, result, WordCounter(800), max_new_tokens=100)
    text = _user(prompt)
    assert prompt.code_cut and "lines cut ..." in text
    assert "def encode(s):" in text and prompt.prompt_tokens <= 800 - 100 - 16


def test_a_line_repeated_in_a_loop_is_shown_twice_and_counted(run_length):
    looped = "def encode(s):\n    out = ''\n" + "    out = out(out)\n" * 40 + "    return out\n"
    prompt = build_refinement(run_length, looped, _busy_result(), WordCounter(4096))
    text = _user(prompt)
    assert "    out = out(out)\n    out = out(out)\n    # ... the line above 38 more times\n    return out" in text
    assert text.count("out = out(out)") == 2 and not prompt.code_cut
    # short repeats, blank lines and different lines are left as they are
    honest = "def encode(s):\n    x += 1\n    x += 1\n    x += 1\n\n\n\n\n    return x\n"
    assert honest.rstrip() in _user(build_refinement(run_length, honest, _busy_result(), WordCounter(4096)))
    # when even the collapsed code must be cut to fit, the cut starts from the collapsed code
    longer = "def encode(s):\n" + "    out = out(out)\n" * 300 + "".join(f"    x_{k} = s * {k}\n" for k in range(200))
    cut = build_refinement(run_length, longer, _busy_result(), WordCounter(900), max_new_tokens=100)
    assert cut.code_cut and _user(cut).count("out = out(out)") == 2


def test_misnamed_function_gets_a_naming_note(sandbox, run_length):
    code = "def run_length_encode(s):\n    return s\n"
    result = _run(sandbox, run_length, code)
    assert result.status == "error"
    text = _user(build_refinement(run_length, code, result, WordCounter(4096)))
    assert "Your code does not define `encode`: the function must be named exactly `encode`." in text
    assert "cannot import name 'encode'" in text
    fine = "def encode(s):\n    return s\n"
    assert "does not define" not in _user(build_refinement(run_length, fine, _run(sandbox, run_length, fine),
                                                           WordCounter(4096)))


# ---------------------------------------------------------------- whole programs and classes


def test_stdio_failure_shows_input_expected_and_printed_output(sandbox):
    task = load_spec(EXAMPLES / "pair_sums_stdio.toml")
    code = task.reference.replace("sum(sums) / n", "sum(sums) // n")  # integer average: only case 4 differs
    result = _run(sandbox, task, code)
    assert result.status == "failed"
    prompt = build_refinement(task, code, result, WordCounter(4096))
    text = _user(prompt)
    assert text.startswith("Write a Python program.")
    assert "Test case 4 failed." in text
    assert "Input:\n```text\n3\n10 -3\n0 0\n-2 -1\n```" in text
    assert "Expected output:\n```text\n7\n0\n-3\n1.3333333333333333\n```" in text
    assert "Your program printed:\n```text\n7\n0\n-3\n1\n```" in text
    assert text.rstrip().endswith("Reply with the complete corrected program in one ```python code block.")
    assert "does not define" not in text  # a program has no names to define


def test_stdio_crash_shows_the_error_and_long_input_is_cut(sandbox):
    from agent.spec import task_from_dict

    lines = "\n".join(str(i) for i in range(40))
    task = task_from_dict({"name": "echo", "description": "Echo the input.", "tests": {
        "stdio": [{"stdin": lines + "\n", "stdout": lines + "\n"}]}})
    code = "import sys\nfor line in sys.stdin:\n    print(int(line) // (int(line) - 39))\n"
    result = _run(sandbox, task, code)
    assert result.status == "failed" or result.status == "error"
    text = _user(build_refinement(task, code, result, WordCounter(4096)))
    assert "Test case 1 failed: the program ended with exit status 1" in text and "ZeroDivisionError" in text
    assert "Input:\n```text\n0\n1\n" in text and "11\n... (cut)\n```" in text
    assert "\n39\n" not in text.split("Input:")[1].split("```\n")[1]


def test_class_task_names_what_the_code_left_undefined(sandbox):
    task = load_spec(EXAMPLES / "lru_cache.toml")
    code = task.reference.replace("class CapacityError(ValueError)", "class CacheError(ValueError)").replace(
        "raise CapacityError", "raise CacheError")
    result = _run(sandbox, task, code)
    assert result.status != "passed"
    text = _user(build_refinement(task, code, result, WordCounter(4096)))
    assert "Your code does not define `CapacityError`: use exactly the names of the signature." in text
    assert text.rstrip().endswith("every definition, in one ```python code block.")


HUMANEVAL_STYLE = '''def running_max(xs: list) -> list:
    """Return the running maximum of xs, element by element.
    >>> running_max([1, 3, 2])
    [1, 3, 3]
    """
'''


def _prompt_task():
    from agent.spec import Task
    from sandbox import Tests

    check = "def check(candidate):\n    assert candidate([1, 3, 2]) == [1, 3, 3]\n    assert candidate([]) == []\n"
    return Task(task_id="t/running_max", name="running_max", description="Return the running maximum.",
                entry_point="running_max", signature="def running_max(xs: list) -> list:",
                tests=Tests(kind="humaneval", source=check, entry_point="running_max"), prompt_code=HUMANEVAL_STYLE)


def test_a_docstring_copied_from_the_task_is_left_out_of_the_previous_code(sandbox):
    task = _prompt_task()
    body = "    out = []\n    for x in xs:\n        out.append(x)\n    return out\n"
    code = HUMANEVAL_STYLE + body
    result = _run(sandbox, task, code)
    assert result.status == "failed"
    text = _user(build_refinement(task, code, result, WordCounter(4096)))
    previous = text.split("Your previous code:")[1].split("```")[1]
    assert "def running_max(xs: list) -> list:\n" + body in previous  # the code, without the copied docstring
    assert "running maximum" not in previous and text.count("Return the running maximum of xs") == 1

    # a docstring of the model's own stays, and so does one in code that crashed (its traceback counts lines)
    own = code.replace("Return the running maximum of xs, element by element.", "Keeps the largest value so far.")
    text = _user(build_refinement(task, own, _run(sandbox, task, own), WordCounter(4096)))
    assert "Keeps the largest value so far." in text
    crashing = HUMANEVAL_STYLE + "    return xs[0] + None\n"
    result = _run(sandbox, task, crashing)
    text = _user(build_refinement(task, crashing, result, WordCounter(4096)))
    assert "Traceback" in text and text.count("Return the running maximum of xs") == 2


def test_input_output_failures_show_the_call_and_at_most_four_in_detail(sandbox):
    """MBPP+-style tasks: 30 inputs, all failing. The prompt shows the calls with their arguments (not
    `largest(*inputs[3])`), details four of them, and names the rest on one line; it stays short."""
    from agent.spec import Task
    from sandbox import Tests

    inputs = [[list(range(i, i + 6)), 2] for i in range(30)]
    expected = [sorted(xs, reverse=True)[:n] for xs, n in inputs]
    task = Task(task_id="t/largest", name="largest", description="The n largest numbers, largest first.",
                entry_point="largest", signature="def largest(nums: list, n: int) -> list",
                tests=Tests(kind="io", entry_point="largest", inputs=inputs, expected=expected))
    code = "def largest(nums, n):\n    return sorted(nums)[:n]\n"
    result = _run(sandbox, task, code)
    assert result.status == "failed" and result.passed == 0 and result.total == 30
    prompt = build_refinement(task, code, result, WordCounter(100_000))
    text = _user(prompt)
    assert "Test largest([0, 1, 2, 3, 4, 5], 2) failed: returned [0, 1], expected [5, 4]" in text
    assert "expected: [5, 4]" in text and "got:      [0, 1]" in text
    assert text.count("Test largest(") == 4 and "*inputs[0]" not in text
    assert prompt.kept[0] == "first_failure" and sum(k.startswith("failure_") for k in prompt.kept) == 3
    assert "Also failing: " in text and "and 16 more" in text  # 26 undetailed: 10 named, 16 counted
    assert prompt.prompt_tokens < 400
