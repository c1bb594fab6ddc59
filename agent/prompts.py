"""The round-0 prompt for a task, and putting a candidate together with the task's given code.

Small models (SmolLM2-135M) follow short, direct prompts best: one instruction, the task, the signature,
a few example calls taken from the tests, and the answer format. Nothing else. A task is a function, a class, several
definitions (the signature shows them as the model must write them), or a whole program reading stdin (stdio tests:
a couple of input/output examples instead of a signature).
"""

from __future__ import annotations

import ast
import builtins

from agent.parsing import parse_python
from agent.signature import complete_signature, signature_outline
from agent.spec import Task

SYSTEM_PROMPT = "You are an expert Python programmer. Reply with one ```python code block and nothing else."
MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 160
MAX_STDIO_EXAMPLES = 2
MAX_STDIO_EXAMPLE_CHARS = 400  # stdin and stdout of one case together
ANSWER_FORMAT = "Reply with the complete function in one ```python code block."


def task_prompt(task: Task, max_examples: int = MAX_EXAMPLES) -> list[dict]:
    """Chat messages for round 0: what the model is asked before any feedback."""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": task_text(task, max_examples)}]


def answer_noun(task: Task) -> str:
    """What the model writes: "function", "class", "code" (several definitions) or "program" (stdio)."""
    if task.is_program:
        return "program"
    if task.prompt_code or len(task.names) <= 1:
        return "class" if _declares_class(task.signature, task.entry_point) else "function"
    return "code"


def answer_format(task: Task) -> str:
    noun = answer_noun(task)
    if noun == "code":
        return "Reply with the complete code, every definition, in one ```python code block."
    return f"Reply with the complete {noun} in one ```python code block."


def task_text(task: Task, max_examples: int = MAX_EXAMPLES) -> str:
    """The task as the model reads it (also the head of every refinement prompt)."""
    if task.prompt_code:  # HumanEval style: the signature and docstring are the task; continue that code
        return ("Complete this Python function.\n\n```python\n" + task.prompt_code.rstrip() + "\n```\n\n"
                + ANSWER_FORMAT)
    noun = answer_noun(task)
    if noun == "program":
        parts = ["Write a Python program.", task.description.strip(),
                 "It reads its input from standard input and prints the answer to standard output."]
        parts += stdio_examples(task, min(max_examples, MAX_STDIO_EXAMPLES))
    else:
        if noun == "function":
            parts = [f"Write a Python function `{task.entry_point}`.", task.description.strip(),
                     f"Use this signature:\n{task.signature}"]
        else:
            what = f"a Python class `{task.entry_point}`" if noun == "class" else "Python code defining " \
                + _listed(task.names)
            label = "this class signature" if noun == "class" else "these signatures"
            parts = [f"Write {what}.", task.description.strip(),
                     f"Use {label}:\n```python\n{signature_outline(task.signature)}\n```"]
        examples = example_asserts(task, max_examples)
        if examples:
            parts.append("Examples:\n" + "\n".join(examples))
    parts.append(answer_format(task))
    return "\n\n".join(parts)


def _listed(names: list[str]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _declares_class(signature: str, name: str) -> bool:
    try:
        tree = parse_python(complete_signature(signature)[0])
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, ast.ClassDef) and node.name == name for node in tree.body)


def stdio_examples(task: Task, limit: int = MAX_STDIO_EXAMPLES) -> list[str]:
    """Up to `limit` short input/output pairs of a stdio task, as the model reads them."""
    shown = []
    for case in task.tests.cases or []:
        if len(shown) >= limit:
            break
        if len(case["stdin"]) + len(case["stdout"]) > MAX_STDIO_EXAMPLE_CHARS:
            continue
        number = len(shown) + 1
        shown.append(f"Example {number} input:\n```text\n{case['stdin'].rstrip(chr(10))}\n```\n"
                     f"Example {number} output:\n```text\n{case['stdout'].rstrip(chr(10))}\n```")
    return shown


def example_asserts(task: Task, limit: int = MAX_EXAMPLES) -> list[str]:
    """Up to `limit` short assert lines from the task's tests that call one of the task's names directly."""
    tests = task.tests
    if tests.kind == "asserts":
        candidates = [a.strip() for a in tests.asserts]
        known = _module_names(tests.setup)
    elif tests.kind == "pytest":
        candidates = _asserts_in_source(tests.source)
        known = _module_names(tests.source)
    else:  # humaneval / io / stdio: the prompt code already shows examples, or there is nothing readable
        return []
    known |= set(task.names) | set(dir(builtins))
    calls = tuple(f"{name}(" for name in task.names)
    picked = []
    for line in candidates:
        if len(picked) >= limit:
            break
        if (any(call in line for call in calls) and len(line) <= MAX_EXAMPLE_CHARS and "\n" not in line
                and _free_names(line) <= known):  # `assert f(values) == 3` means nothing without `values`
            picked.append(line)
    return picked


def _module_names(source: str) -> set[str]:
    """Names bound at the top level of test code (imports, constants, helpers)."""
    try:
        tree = parse_python(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def _free_names(statement: str) -> set[str]:
    try:
        tree = parse_python(statement)
    except SyntaxError:
        return {"<unparsable>"}
    loaded = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    bound = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    bound |= {arg.arg for node in ast.walk(tree) if isinstance(node, ast.Lambda) for arg in node.args.args}
    return loaded - bound


def _asserts_in_source(source: str) -> list[str]:
    try:
        tree = parse_python(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            segment = ast.get_source_segment(source, node)
            if segment:
                found.append(segment.strip())
    # ast.walk is breadth-first; report in source order
    return sorted(found, key=lambda s: source.find(s))


def assemble_program(task: Task, code: str) -> str:
    """The program the sandbox runs for a candidate.

    For tasks that give code to continue (HumanEval), the given imports (`from typing import List`) are
    part of the task, not of the answer: a candidate that leaves them out still gets them.
    """
    if not task.prompt_code:
        return code
    missing = [line for line in _import_lines(task.prompt_code) if line not in code]
    return ("\n".join(missing) + "\n\n" + code) if missing else code


def _import_lines(source: str) -> list[str]:
    try:
        tree = parse_python(source)
    except SyntaxError:
        return [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    return [ast.get_source_segment(source, node) for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))]
