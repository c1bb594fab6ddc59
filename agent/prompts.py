"""The round-0 prompt for a task, and putting a candidate together with the task's given code.

Small models (SmolLM2-135M) follow short, direct prompts best: one instruction, the task, the signature,
a few example calls taken from the tests, and the answer format. Nothing else.
"""

from __future__ import annotations

import ast

from agent.spec import Task

SYSTEM_PROMPT = "You are an expert Python programmer. Reply with one ```python code block and nothing else."
MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 160
ANSWER_FORMAT = "Reply with the complete function in one ```python code block."


def task_prompt(task: Task, max_examples: int = MAX_EXAMPLES) -> list[dict]:
    """Chat messages for round 0: what the model is asked before any feedback."""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": task_text(task, max_examples)}]


def task_text(task: Task, max_examples: int = MAX_EXAMPLES) -> str:
    """The task as the model reads it (also the head of every refinement prompt)."""
    if task.prompt_code:  # HumanEval style: the signature and docstring are the task; continue that code
        return ("Complete this Python function.\n\n```python\n" + task.prompt_code.rstrip() + "\n```\n\n"
                + ANSWER_FORMAT)
    parts = [f"Write a Python function `{task.entry_point}`.", task.description.strip(),
             f"Use this signature:\n{task.signature}"]
    examples = example_asserts(task, max_examples)
    if examples:
        parts.append("Examples:\n" + "\n".join(examples))
    parts.append(ANSWER_FORMAT)
    return "\n\n".join(parts)


def example_asserts(task: Task, limit: int = MAX_EXAMPLES) -> list[str]:
    """Up to `limit` short assert lines from the task's tests that call the entry point directly."""
    tests = task.tests
    if tests.kind == "asserts":
        candidates = [a.strip() for a in tests.asserts]
    elif tests.kind == "pytest":
        candidates = _asserts_in_source(tests.source)
    else:  # humaneval / io: the prompt code already shows examples, or there is nothing readable
        return []
    picked = []
    for line in candidates:
        if len(picked) >= limit:
            break
        if f"{task.entry_point}(" in line and len(line) <= MAX_EXAMPLE_CHARS and "\n" not in line:
            picked.append(line)
    return picked


def _asserts_in_source(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
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
        tree = ast.parse(source)
    except SyntaxError:
        return [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    return [ast.get_source_segment(source, node) for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))]
