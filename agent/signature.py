"""Signature text as spec files write it: def and class header lines, colons and bodies optional.

`complete_signature` turns it into a module that parses (for checks and for naming what the candidate must define);
`signature_outline` is what the prompt shows the model.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize

from agent.parsing import parse_python

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_HEADER = re.compile(r"^\s*(?:async\s+def|def|class)\s")


def _without_comment(line: str) -> str:
    """The line without a trailing `# comment` (a '#' inside a string stays)."""
    if "#" not in line:
        return line
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line).readline):
            if tok.type == tokenize.COMMENT:
                return line[:tok.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return line


def _parses(code: str) -> bool:
    try:
        parse_python(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _with_colons(signature: str) -> tuple[list[str], list[int]]:
    """The signature's lines (dedented, comments dropped) with a colon after each def/class header lacking one."""
    lines = textwrap.dedent(signature.expandtabs(4)).strip("\n").split("\n")
    code: list[str] = []
    origin: list[int] = []
    for number, raw in enumerate(lines, start=1):
        line = _without_comment(raw.rstrip())
        if _HEADER.match(line) and not line.endswith(":") and not _parses(line.strip()):
            line += ":"  # `def f(x) -> int` as written in prose; a one-line `def f(x): return x` stays
        code.append(line)
        origin.append(number)
    return code, origin


def signature_outline(signature: str) -> str:
    """The signature as the model should write its headers: every def and class line with its colon."""
    return "\n".join(_with_colons(signature)[0]).strip("\n")


def complete_signature(signature: str) -> tuple[str, list[int]]:
    """The signature as a module that parses: missing colons added, empty bodies filled with `...`.

    Returns the code and, for each of its lines, the 1-based line of the signature it came from (for errors).
    """
    code, origin = _with_colons(signature)
    filled: list[str] = []
    filled_origin: list[int] = []
    for i, line in enumerate(code):
        filled.append(line)
        filled_origin.append(origin[i])
        if not (line.endswith(":") and (_HEADER.match(line) or line.lstrip().startswith("async "))):
            continue
        indent = len(line) - len(line.lstrip())
        following = next((other for other in code[i + 1:] if other.strip()), None)
        if following is None or len(following) - len(following.lstrip()) <= indent:
            filled.append(" " * (indent + 4) + "...")  # no body given
            filled_origin.append(origin[i])
    return "\n".join(filled) + "\n", filled_origin


def signature_names(signature: str) -> list[str]:
    """The top-level names (functions and classes) a signature declares, in order; [] when it does not parse."""
    if not signature.strip():
        return []
    try:
        tree = parse_python(complete_signature(signature)[0])
    except (SyntaxError, ValueError):
        return []
    return [node.name for node in tree.body if isinstance(node, _DEFS)]
