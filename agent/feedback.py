"""Turning a failed candidate into the next prompt: the previous code and what went wrong.

The evidence is ranked by how much it helps a model fix the code, and when the prompt must be cut to fit the
model's context, it is kept in that order:

1. the first failing test with its assertion and the expected vs actual values;
2. syntax error positions (line:col, with the offending line);
3. the tail of the traceback;
4. the other failing tests;
5. what the program printed (stdout).

The task, the previous code, one line on the outcome (including timeout and memory notes) and the names of
the failing tests are always there.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from agent.prompts import SYSTEM_PROMPT, task_text
from agent.scoring import SyntaxReport, check_syntax
from agent.spec import Task
from sandbox.results import RunResult, TestOutcome

MAX_VALUE_CHARS = 200  # one expected / actual repr
MAX_MESSAGE_CHARS = 400
MAX_NAMES = 10
TRACEBACK_LINES = (12, 4)  # full tail, then a shorter one when the full one does not fit
STDOUT_LINES = (20, 5)
PER_MESSAGE_OVERHEAD = 8  # chat-template tokens per message, when the generator cannot render the prompt
SAFETY_TOKENS = 16
FIX_INSTRUCTION = "Fix the code. Reply with the complete corrected function in one ```python code block."


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
        tree = ast.parse(code)
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


def failing_tests(result: RunResult) -> list[TestOutcome]:
    return [t for t in result.tests if t.outcome not in ("passed", "not_run")]


def describe_failure(test: TestOutcome, with_values: bool = True) -> str:
    message = test.message
    if message.startswith(test.name + ":"):  # assert-style tests are named by their statement: say it once
        message = message[len(test.name) + 1:].strip()
    lines = [f"Test {test.name} {'timed out' if test.outcome == 'timeout' else 'failed'}"
             + (f": {_clip(message, MAX_MESSAGE_CHARS)}" if message else ".")]
    if with_values and (test.expected is not None or test.actual is not None):
        if test.expected is not None:
            lines.append(f"  expected: {_clip(test.expected, MAX_VALUE_CHARS)}")
        if test.actual is not None:
            lines.append(f"  got:      {_clip(test.actual, MAX_VALUE_CHARS)}")
    return "\n".join(lines)


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


def _evidence(code: str, result: RunResult, syntax: SyntaxReport) -> list[tuple[str, list[str]]]:
    """(kind, versions from fullest to shortest), most useful kind first."""
    pieces: list[tuple[str, list[str]]] = []
    failures = failing_tests(result)
    first = failures[0] if failures else None
    if first is not None:
        pieces.append(("first_failure", [describe_failure(first), describe_failure(first, with_values=False)]))
    if not syntax.valid:
        pieces.append(("syntax", [describe_syntax(code, syntax), describe_syntax(code, syntax, max_errors=0)]))
    traceback = (first.traceback if first is not None and first.traceback else "") or result.stderr
    if traceback.strip():
        pieces.append(("traceback", [f"Traceback (last lines):\n{_tail(traceback, n)}" for n in TRACEBACK_LINES]))
    for i, test in enumerate(failures[1:], start=1):
        pieces.append((f"failure_{i}", [describe_failure(test), describe_failure(test, with_values=False)]))
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
    naming_note = ""
    if syntax.valid and not defines(code, task.entry_point):
        # small models often rename the function; the tests then fail on an import, which says little
        naming_note = (f"\nYour code does not define `{task.entry_point}`: the function must be named exactly "
                       f"`{task.entry_point}`.")
    names_line = ""
    if names:
        shown = ", ".join(names[:MAX_NAMES]) + (f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")
        names_line = f"Failing tests: {shown}"

    def compose(code_text: str, sections: dict[str, str]) -> list[dict]:
        # fixed display order, whatever order the evidence was admitted in
        order = ["syntax", "first_failure"] + sorted(k for k in sections if k.startswith("failure_")) \
            + ["traceback", "stdout"]
        body = [task_text_for_fix(task), f"Your previous code:\n```python\n{code_text.rstrip()}\n```",
                outcome_line(result, task) + (f"\n{names_line}" if names_line else "") + naming_note]
        body += [sections[k] for k in order if k in sections]
        body.append(FIX_INSTRUCTION)
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n\n".join(body)}]

    code_text, code_cut = code, False
    if not fitter.fits(compose(code_text, {})):
        code_text, code_cut = _shorten_code(code, lambda c: fitter.fits(compose(c, {})))

    sections: dict[str, str] = {}
    kept, dropped = [], []
    for kind, versions in _evidence(code, result, syntax):
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


def task_text_for_fix(task: Task) -> str:
    """The task without its answer-format line (the fix instruction closes the prompt instead)."""
    text = task_text(task)
    return text.rsplit("\n\n", 1)[0]


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
