"""Turning a failed candidate into the next prompt: the previous code and what went wrong.

The evidence is ranked by how much it helps a model fix the code, and when the prompt must be cut to fit the
model's context, it is kept in that order:

1. the first failing test with its assertion and the expected vs actual values;
2. syntax error positions (line:col, with the offending line);
3. the tail of the traceback;
4. the other failing tests;
5. what the program printed (stdout).

The task, the previous code and one line on the outcome (including timeout and memory notes) are always there,
and every failing test is named once: with its details, or in one line when its details did not fit.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from agent.parsing import parse_python
from agent.prompts import SYSTEM_PROMPT, answer_noun, task_text
from agent.scoring import SyntaxReport, check_syntax
from agent.spec import Task
from sandbox.results import RunResult, TestOutcome

MAX_VALUE_CHARS = 200  # one expected / actual repr
MAX_MESSAGE_CHARS = 400
MAX_NAMES = 10
# Failures shown in detail: the first and three more. More examples of one bug add little for the model, and on
# MBPP+ (100+ inputs a task) they filled the whole context: 7,800-token prompts, and 24 GB for the prefill of a
# round's batch on a CPU.
MAX_FAILURES_DETAILED = 4
REPEATS_SHOWN = 2  # a line the model wrote over and over (looping until its token cap): shown twice, then counted
TRACEBACK_LINES = (12, 4)  # full tail, then a shorter one when the full one does not fit
STDOUT_LINES = (20, 5)
PER_MESSAGE_OVERHEAD = 8  # chat-template tokens per message, when the generator cannot render the prompt
SAFETY_TOKENS = 16
MAX_STDIO_LINES = 12  # of one input / expected / actual output in a stdio failure
MAX_STDIO_CHARS = 400


@dataclass
class RefinementPrompt:
    messages: list[dict]
    kept: list[str] = field(default_factory=list)  # evidence kinds in the prompt, most useful first
    dropped: list[str] = field(default_factory=list)  # evidence kinds left out to fit the context
    prompt_tokens: int = 0
    code_cut: bool = False  # the previous code itself had to be shortened

    def to_dict(self) -> dict:
        return {"messages": self.messages, "kept": self.kept, "dropped": self.dropped,
                "prompt_tokens": self.prompt_tokens, "code_cut": self.code_cut}


def outcome_line(result: RunResult, task: Task) -> str:
    """One line on how the run went, with timeout and memory notes."""
    status = result.status
    if status == "timeout":
        return (f"It ran longer than the {task.timeout_s:g} s limit and was stopped: look for an infinite loop "
                "or an algorithm that is too slow.")
    if status == "memory_exceeded":
        return (f"It used more than the {task.memory_mb} MB memory limit and was stopped: avoid building huge "
                "lists or unbounded recursion.")
    if status == "syntax_error":
        return "It is not valid Python."
    if status == "crashed":
        return f"The program crashed before the tests could finish{': ' + result.message if result.message else ''}."
    if status == "error" and not any(t.outcome != "passed" for t in result.tests):
        return f"It raised an error{': ' + _clip(result.message, MAX_MESSAGE_CHARS) if result.message else ''}."
    failed = sum(1 for t in result.tests if t.outcome != "passed")
    return f"It passed {result.passed} of {result.total} tests; {failed or result.total - result.passed} failed."


def defines(code: str, name: str) -> bool:
    """Whether code (that parses) defines `name` at top level (def, class or assignment)."""
    try:
        tree = parse_python(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True  # cannot tell; the syntax error is the evidence then
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False


def fix_instruction(task: Task) -> str:
    noun = answer_noun(task)
    what = "code, every definition," if noun == "code" else noun
    return f"Fix the code. Reply with the complete corrected {what} in one ```python code block."


def naming_note(task: Task, code: str) -> str:
    """Names of the signature the code leaves undefined (small models rename things; the tests then fail on an
    import, which says little)."""
    missing = [name for name in task.names if not defines(code, name)]
    if not missing:
        return ""
    if len(missing) == 1 and len(task.names) == 1:
        kind = "class" if answer_noun(task) == "class" else "function"
        return f"Your code does not define `{missing[0]}`: the {kind} must be named exactly `{missing[0]}`."
    shown = ", ".join(f"`{name}`" for name in missing)
    return f"Your code does not define {shown}: use exactly the names of the signature."


def failing_tests(result: RunResult) -> list[TestOutcome]:
    return [t for t in result.tests if t.outcome not in ("passed", "not_run")]


def describe_failure(test: TestOutcome, with_values: bool = True, task: Task | None = None) -> str:
    if task is not None and task.is_program:
        return describe_stdio_failure(test, stdio_case(task, test), with_values)
    message = test.message
    if message.startswith(test.name + ":"):  # assert-style tests are named by their statement: say it once
        message = message[len(test.name) + 1:].strip()
    name = _call_shown(test.name, task)
    if name != test.name and message.startswith(test.name + " "):  # "f(*inputs[3]) returned 2, expected 3"
        message = message[len(test.name) + 1:].strip()
    if with_values and test.expected is not None and test.actual is not None:
        # the judge's "left A == right B is false" says what the expected / got lines below say
        compared = f"left {test.actual} == right {test.expected} is false"
        if message.startswith(compared):
            message = message[len(compared):].strip()
    lines = [f"Test {name} {'timed out' if test.outcome == 'timeout' else 'failed'}"
             + (f": {_clip(message, MAX_MESSAGE_CHARS)}" if message else ".")]
    if with_values and (test.expected is not None or test.actual is not None):
        if test.expected is not None:
            lines.append(f"  expected: {_clip(test.expected, MAX_VALUE_CHARS)}")
        if test.actual is not None:
            lines.append(f"  got:      {_clip(test.actual, MAX_VALUE_CHARS)}")
    return "\n".join(lines)


_INPUT_CALL = re.compile(r"(\w+)\(\*inputs\[(\d+)\]\)")


def _call_shown(name: str, task: Task | None) -> str:
    """An input/output test, named by its index (`f(*inputs[3])`), as the call it made: `f([4, 1], 2)`."""
    found = _INPUT_CALL.fullmatch(name)
    inputs = task.tests.inputs if task is not None and task.tests.kind == "io" else None
    if found is None or not inputs or int(found.group(2)) >= len(inputs):
        return name
    args = ", ".join(repr(arg) for arg in inputs[int(found.group(2))])
    return f"{found.group(1)}({_clip(args, MAX_VALUE_CHARS)})"


def stdio_case(task: Task, test: TestOutcome) -> dict | None:
    """The case of a stdio task a test outcome is about: the one whose expected output it shows, else the
    number in its name (cases are numbered from 1 in test names, from 0 in the spec's array)."""
    cases = task.tests.cases or []
    if test.expected is not None:
        want = _as_text(test.expected)
        matching = [case for case in cases if case["stdout"] == want]
        if len(matching) == 1:
            return matching[0]
    numbers = re.findall(r"\d+", test.name)
    if numbers:
        number = int(numbers[-1])
        if "[" in test.name and 0 <= number < len(cases):  # "stdio[0]" style, as the spec writes them
            return cases[number]
        if 1 <= number <= len(cases):
            return cases[number - 1]
    return None


def describe_stdio_failure(test: TestOutcome, case: dict | None, with_values: bool = True) -> str:
    """A failed stdio case as the model reads it: the input, the expected output and what the program printed."""
    what = "timed out" if test.outcome == "timeout" else "failed"
    message = test.message
    if message.startswith(test.name + ":"):
        message = message[len(test.name) + 1:].strip()
    if test.outcome == "failed" and case is not None:
        message = ""  # the judge's one-line summary repeats the input and outputs shown below
    lines = [f"Test {test.name} {what}" + (f": {_clip(message, MAX_MESSAGE_CHARS)}" if message else ".")]
    if case is not None:
        lines.append(f"Input:\n```text\n{_cut_text(case['stdin'])}\n```")
    if with_values:
        expected = case["stdout"] if case is not None else _as_text(test.expected)
        if expected is not None:
            lines.append(f"Expected output:\n```text\n{_cut_text(expected)}\n```")
        if test.actual is not None:
            lines.append(f"Your program printed:\n```text\n{_cut_text(_as_text(test.actual))}\n```")
    return "\n".join(lines)


def _as_text(value) -> str | None:
    """Outputs may come back as the repr of a string; show them as the text they are."""
    if value is None:
        return None
    if isinstance(value, str) and value[:1] in "'\"" and len(value) > 1:
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
        return parsed if isinstance(parsed, str) else value
    return str(value)


def _cut_text(text: str) -> str:
    lines = text.rstrip("\n").split("\n")
    cut = len(lines) > MAX_STDIO_LINES
    text = "\n".join(lines[:MAX_STDIO_LINES])
    if len(text) > MAX_STDIO_CHARS:
        text, cut = text[:MAX_STDIO_CHARS], True
    return text + ("\n... (cut)" if cut else "")


def describe_syntax(code: str, syntax: SyntaxReport, max_errors: int = 3) -> str:
    lines_of_code = code.split("\n")
    out = [f"Syntax error{'s' if len(syntax.errors) > 1 else ''} at {syntax.positions()}"
           + (f": {syntax.message}" if syntax.message else "")]
    for line, col in syntax.errors[:max_errors]:
        if 1 <= line <= len(lines_of_code):
            text = lines_of_code[line - 1].rstrip()
            out.append(f"  {line:>3} | {text}")
            out.append(f"      | {' ' * (col - 1)}^")
    return "\n".join(out)


def _tail(text: str, n: int) -> str:
    lines = [line for line in text.rstrip().split("\n")]
    if len(lines) <= n:
        return "\n".join(lines)
    return "...\n" + "\n".join(lines[-n:])


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _evidence(code: str, result: RunResult, syntax: SyntaxReport,
              task: Task | None = None) -> list[tuple[str, list[str]]]:
    """(kind, versions from fullest to shortest), most useful kind first."""
    pieces: list[tuple[str, list[str]]] = []
    failures = failing_tests(result)
    first = failures[0] if failures else None
    if first is not None:
        pieces.append(("first_failure", [describe_failure(first, task=task),
                                         describe_failure(first, with_values=False, task=task)]))
    if not syntax.valid:
        pieces.append(("syntax", [describe_syntax(code, syntax), describe_syntax(code, syntax, max_errors=0)]))
    traceback = (first.traceback if first is not None and first.traceback else "") or result.stderr
    if traceback.strip():
        pieces.append(("traceback", [f"Traceback (last lines):\n{_tail(traceback, n)}" for n in TRACEBACK_LINES]))
    for i, test in enumerate(failures[1:MAX_FAILURES_DETAILED], start=1):
        pieces.append((f"failure_{i}", [describe_failure(test, task=task),
                                        describe_failure(test, with_values=False, task=task)]))
    if result.stdout.strip():
        pieces.append(("stdout", [f"It printed:\n{_tail(result.stdout, n)}" for n in STDOUT_LINES]))
    return pieces


class _Fitter:
    """Counts the tokens of candidate messages against the room the model has for a prompt."""

    def __init__(self, generator, max_new_tokens: int):
        self.generator = generator
        self.room = int(generator.context_length) - int(max_new_tokens) - SAFETY_TOKENS

    def tokens(self, messages: list[dict]) -> int:
        render = getattr(self.generator, "render", None)
        if callable(render):
            return int(self.generator.count_tokens(render(messages)))
        return sum(int(self.generator.count_tokens(m["content"])) + PER_MESSAGE_OVERHEAD for m in messages)

    def fits(self, messages: list[dict]) -> bool:
        return self.tokens(messages) <= self.room


def build_refinement(task: Task, code: str, result: RunResult | dict, generator, max_new_tokens: int = 384,
                     syntax: SyntaxReport | None = None) -> RefinementPrompt:
    """The prompt asking the model to fix `code`, given its sandbox `result`, fitted to the model's context."""
    if isinstance(result, dict):
        result = RunResult.from_dict(result)
    syntax = syntax or check_syntax(code)
    fitter = _Fitter(generator, max_new_tokens)

    failures = failing_tests(result)
    names = [t.name for t in failures]
    note = naming_note(task, code) if syntax.valid else ""

    def compose(code_text: str, sections: dict[str, str]) -> list[dict]:
        # fixed display order, whatever order the evidence was admitted in
        order = ["syntax", "first_failure"] + sorted(k for k in sections if k.startswith("failure_")) \
            + ["traceback", "stdout"]
        names_line = undetailed_names(names, sections)
        body = [task_text_for_fix(task), f"Your previous code:\n```python\n{code_text.rstrip()}\n```",
                outcome_line(result, task) + (f"\n{names_line}" if names_line else "") + (f"\n{note}" if note else "")]
        body += [sections[k] for k in order if k in sections]
        body.append(fix_instruction(task))
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n\n".join(body)}]

    evidence = _evidence(code, result, syntax, task)
    if not any(kind == "traceback" for kind, _ in evidence):
        code = drop_copied_docstrings(code, task_text(task))
    code_text, code_cut = collapse_repeats(code), False
    if not fitter.fits(compose(code_text, {})):
        code_text, code_cut = _shorten_code(code_text, lambda c: fitter.fits(compose(c, {})))

    sections: dict[str, str] = {}
    kept, dropped = [], []
    for kind, versions in evidence:
        for text in versions:
            trial = dict(sections, **{kind: text})
            if fitter.fits(compose(code_text, trial)):
                sections = trial
                kept.append(kind)
                break
        else:
            dropped.append(kind)
    messages = compose(code_text, sections)
    return RefinementPrompt(messages=messages, kept=kept, dropped=dropped, prompt_tokens=fitter.tokens(messages),
                            code_cut=code_cut)


def undetailed_names(names: list[str], sections: dict[str, str]) -> str:
    """One line naming the failing tests whose details (first_failure, failure_1...) are not in the prompt."""
    detailed = ({0} if "first_failure" in sections else set()) \
        | {int(kind.split("_")[1]) for kind in sections if kind.startswith("failure_")}
    rest = [name for i, name in enumerate(names) if i not in detailed]
    if not rest:
        return ""
    shown = ", ".join(rest[:MAX_NAMES]) + (f" and {len(rest) - MAX_NAMES} more" if len(rest) > MAX_NAMES else "")
    return f"{'Also failing' if detailed else 'Failing tests'}: {shown}"


def task_text_for_fix(task: Task) -> str:
    """The task without its answer-format line (the fix instruction closes the prompt instead)."""
    text = task_text(task)
    return text.rsplit("\n\n", 1)[0]


def drop_copied_docstrings(code: str, task_text: str) -> str:
    """The code without the docstrings it copied from the task: the prompt holds the task already, and a small
    model copies the whole docstring into every answer. A docstring counts as copied when its first line (10
    characters or more) is in the task. Code that does not parse, and a docstring that is its function's only
    statement, stay as they are. (Not used when a traceback is shown: its line numbers are the code's as it ran.)"""
    try:
        tree = parse_python(code)
    except (SyntaxError, ValueError):
        return code
    drop: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or len(node.body) < 2:
            continue
        text = ast.get_docstring(node)
        if text is None:
            continue
        doc, after = node.body[0], node.body[1]
        first_line = next((line.strip() for line in text.split("\n") if line.strip()), "")
        own_lines = doc.lineno > node.lineno and after.lineno > doc.end_lineno
        if len(first_line) >= 10 and first_line in task_text and own_lines:
            drop.append((doc.lineno, doc.end_lineno))
    if not drop:
        return code
    lines = code.split("\n")
    gone = {n for start, end in drop for n in range(start, end + 1)}
    return "\n".join(line for n, line in enumerate(lines, start=1) if n not in gone)


def collapse_repeats(code: str) -> str:
    """The code with each run of more than REPEATS_SHOWN + 1 identical lines shown REPEATS_SHOWN times and counted:
    a small model that loops writes one line until its token cap, and the whole loop in the next prompt costs
    the model reading time and room, and tells it nothing the count does not."""
    lines = code.rstrip().split("\n")
    shown: list[str] = []
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) and lines[end] == lines[start]:
            end += 1
        line = lines[start]
        if line.strip() and end - start > REPEATS_SHOWN + 1:
            indent = line[:len(line) - len(line.lstrip())]
            shown += [line] * REPEATS_SHOWN + [f"{indent}# ... the line above {end - start - REPEATS_SHOWN} more times"]
        else:
            shown += lines[start:end]
        start = end
    return "\n".join(shown) + "\n"


def _shorten_code(code: str, fits) -> tuple[str, bool]:
    """Drop lines from the middle of the code until the prompt fits (keeps the head: the def line)."""
    lines = code.rstrip().split("\n")
    keep = len(lines)
    while keep > 4:
        keep = max(4, keep * 3 // 4)
        head, tail = (keep + 1) // 2, keep // 2
        cut = lines[:head] + [f"# ... {len(lines) - keep} lines cut ..."] + lines[len(lines) - tail:]
        text = "\n".join(cut)
        if fits(text):
            return text, True
    return "\n".join(lines[:4] + ["# ... cut ..."]), True
