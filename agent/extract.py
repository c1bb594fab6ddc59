"""Pull the Python program out of what a (small) model wrote.

Small models wrap code in prose, open a fence and never close it, repeat the function, append usage examples, or
(when asked to continue a signature) write only the body. `extract_code` returns source that compiles whenever a
compilable program is in there; when nothing does it returns its best guess, so the sandbox can report the syntax
error back to the model.

What the code must define steers the choice: one name (a function or a class), several names (a class and its
helpers, several functions: blocks that define the others are brought along), or `PROGRAM` for a whole program
reading stdin, where top-level code and an `if __name__ == "__main__":` block are the program, not usage examples.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
import warnings
from collections.abc import Sequence

from agent.parsing import parse_python

_FENCE_LINE = re.compile(r"^\s*```\s*([\w+.#-]*)\s*$")
_CODE_START = re.compile(r"^(?:def |async def |class |import |from [\w.]+ import |@\w)")
_DEFINITION_START = re.compile(r"^(?:def |async def |class |@\w)")
# Lines in column 0 that continue the statement above them rather than start a new one.
_CONTINUATION = re.compile(r"^(?:else\b|elif\b|except\b|finally\b|case\b|[)\]}])")
_PYTHON_FENCES = {"", "python", "python3", "py", "py3", "ipython", "python-repl"}
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)
PROGRAM = "__main__"  # as `entry_point`: the answer is a whole program, kept with its top-level code


def extraction_target(task) -> str | list[str]:
    """What `extract_code` is told to look for in answers to `task` (an `agent.spec.Task`)."""
    if task.is_program:
        return PROGRAM
    names = task.names
    return names if len(names) > 1 else task.entry_point


def code_from_answer(text: str, messages: list[dict], entry_point: str | Sequence[str] | None = None) -> str:
    """The code in a model's answer to `messages`; a final assistant message is the prefix the model continued."""
    prefix = messages[-1]["content"] if messages and messages[-1].get("role") == "assistant" else ""
    return extract_code(text, entry_point=entry_point, prefix=prefix)


def extract_code(text: str, entry_point: str | Sequence[str] | None = None, prefix: str = "") -> str:
    """The code in `text`.

    `prefix` is what the model was asked to continue (e.g. a signature and docstring, or an opened fence); it is
    put in front of the text. Without a prefix, a completion that starts indented is taken as the body of a
    signature the caller holds, and comes back indented, for the caller to append to that signature.
    With an `entry_point` (a name, or a list of the names the code must define, the main one first), the fenced
    block (or region) that defines it is preferred. `PROGRAM` asks for a whole program.
    """
    text = (prefix + text).replace("\r\n", "\n")
    names = [entry_point] if isinstance(entry_point, str) else [name for name in entry_point or [] if name]
    program = names == [PROGRAM]
    if program:
        names = []
    main = names[0] if names else None
    regions = _fenced_regions(text)
    if regions:
        return _pick(regions, main, names, program)
    return _from_unfenced(text, main, program)


def compiles(code: str) -> bool:
    """True when `code` is a valid module (stricter than ast.parse: `return` outside a function fails)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, "<candidate>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+def|def|class)\s+{re.escape(name)}\b", code, re.MULTILINE) is not None


# ---------------------------------------------------------------- finding regions of code


def _fenced_regions(text: str) -> list[str]:
    """Contents of ``` fenced blocks that may be Python; an unclosed last fence runs to the end of the text.

    A model continuing code it was given often closes a fence it never opened: the text before such a first
    fence is then a region too.
    """
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if _FENCE_LINE.match(line)]
    if not fences:
        return []
    regions: list[tuple[str, list[str]]] = []
    head = lines[:fences[0]]
    position = fences[0]
    if _looks_like_code(head) and not _FENCE_LINE.match(lines[fences[0]]).group(1):
        regions.append(("python", head))  # the first fence closes code that came before it
        position = fences[0] + 1
    while position < len(lines):
        while position < len(lines) and not _FENCE_LINE.match(lines[position]):
            position += 1  # prose between blocks
        if position >= len(lines):
            break
        language = _FENCE_LINE.match(lines[position]).group(1).lower()
        end = position + 1
        while end < len(lines) and not _FENCE_LINE.match(lines[end]):
            end += 1
        regions.append((language, lines[position + 1:end]))
        position = end + 1
    return ["\n".join(body) for language, body in regions
            if language in _PYTHON_FENCES and "\n".join(body).strip()]


def _looks_like_code(lines: list[str]) -> bool:
    first = next((line for line in lines if line.strip()), None)
    return first is not None and (first[0] in " \t" or bool(_CODE_START.match(first)))


def _from_unfenced(text: str, entry_point: str | None, program: bool = False) -> str:
    if not text.strip():
        return ""
    if program:
        return _clean(text, None, program=True)
    if text.lstrip("\n")[0] in " \t":
        return _clean_region(text, entry_point)
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), None)
    if start is None:  # code indented under prose (markdown style), or a script, or only prose
        start = next((i for i, line in enumerate(lines) if _CODE_START.match(line.lstrip())), 0)
        indent = len(lines[start]) - len(lines[start].lstrip())
        block = []
        for line in lines[start:]:
            if line.strip() and len(line) - len(line.lstrip()) < indent:
                break
            block.append(line)
        return _clean("\n".join(block), entry_point)
    return _clean("\n".join(lines[start:]), entry_point)


def _clean_region(region: str, entry_point: str | None, program: bool = False) -> str:
    """A region that starts indented is either indented code (markdown style) or the body of a signature."""
    region = region.strip("\n")
    dedented = textwrap.dedent(region)
    first = dedented.split("\n", 1)[0]
    if program:
        return _clean(dedented, None, program=True)
    if region[:1] in (" ", "\t") and not _DEFINITION_START.match(first) and not compiles(dedented):
        return _clean_body(region, entry_point)
    return _clean(dedented, entry_point)


# ---------------------------------------------------------------- choosing among regions


def _pick(regions: list[str], entry_point: str | None, names: list[str] | None = None,
          program: bool = False) -> str:
    """Clean every region and pick: defines the entry point > defines more of the other names > compiles >
    (programs: reads input) > has definitions > longest; first wins ties. Definitions the pick uses or must have
    but other regions hold (a helper, a second function in its own block) are brought along."""
    names = names or []
    cleaned = [_clean_region(region, entry_point, program) for region in regions if region.strip()]

    def rank(item):
        index, code = item
        return (bool(entry_point) and defines(code, entry_point), sum(defines(code, name) for name in names),
                compiles(code) and bool(code.strip()), program and _reads_input(code),
                _has_definitions(code), len(code), -index)

    best_index, best = max(enumerate(cleaned), key=rank)
    others = [code for index, code in enumerate(cleaned) if index != best_index]
    return _with_missing_helpers(best, others, names)


def _reads_input(code: str) -> bool:
    return bool(re.search(r"\binput\s*\(|\bsys\.stdin\b|\bstdin\b", code))


def _with_missing_helpers(code: str, others: list[str], required: list[str] | None = None) -> str:
    try:
        tree = parse_python(code)
    except SyntaxError:
        return code
    bound = _bound_names(tree)
    missing = (_used_names(tree) - bound - set(dir(builtins))) | (set(required or []) - bound)
    additions: list[str] = []
    for other in others:
        try:
            other_tree = parse_python(other)
        except SyntaxError:
            continue
        other_lines = other.split("\n")
        for node in other_tree.body:
            provides = _bound_names(ast.Module(body=[node], type_ignores=[]))
            if isinstance(node, _DEFINITIONS + _IMPORTS) and provides & missing:
                additions.append("\n".join(other_lines[_start_line(node) - 1:node.end_lineno]))
                missing -= provides
    if not additions:
        return code
    return _join(additions + [code.rstrip("\n")])


def _used_names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _bound_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, _DEFINITIONS):
            names.add(node.name)
        elif isinstance(node, _IMPORTS):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


# ---------------------------------------------------------------- cleaning one region


def _clean(region: str, entry_point: str | None = None, program: bool = False) -> str:
    """Keep the top-level statements that are code: drop prose, usage examples, repeats and a truncated tail.
    In a program, top-level code is the program: only prose, repeats and a truncated tail go."""
    region = textwrap.dedent(region).strip("\n")
    if not region.strip():
        return ""
    if compiles(region) and (program or not _has_definitions(region)):
        return region + "\n"  # a plain script: keep it whole
    pieces: list[tuple[str, ast.Module]] = []
    for chunk in _chunks(region):
        code = _compilable_prefix(chunk)
        if code is not None:
            pieces.append((code, parse_python(code)))
    defined = {node.name for _, tree in pieces for node in tree.body if isinstance(node, _DEFINITIONS)}
    kept: list[str] = []
    seen: set[str] = set()
    for code, tree in pieces:
        body = [node for node in tree.body if program or not _is_usage(node, defined, entry_point)]
        if not body:
            continue
        names = {node.name for node in body if isinstance(node, _DEFINITIONS)}
        if entry_point in names and entry_point in seen:
            break  # the model starting the entry point over: a repeat, and what follows it too
        if names and names <= seen:
            continue  # the model wrote the same definition again: keep the first complete one
        seen |= names
        lines = code.split("\n")
        kept.append("\n".join("\n".join(lines[_start_line(node) - 1:node.end_lineno]) for node in body))
    if not kept:
        return "" if pieces else region + "\n"  # only usage/tests, or nothing compiles (keep it for the error)
    return _join(kept)


def _clean_body(region: str, entry_point: str | None) -> str:
    """A completion that continues a signature: its indented body, then the helper definitions after it."""
    lines = region.split("\n")
    end = next((i for i, line in enumerate(lines) if line.strip() and line[0] not in " \t"), len(lines))
    body_lines = "\n".join(lines[:end]).rstrip().split("\n")
    while body_lines and not compiles("def _body():\n" + "\n".join(body_lines)):
        body_lines.pop()  # truncated trailing lines
    body = "\n".join(body_lines).rstrip()
    rest = "\n".join(lines[end:]).strip("\n")
    if entry_point:  # the model starting the whole function over: a repeat, and what follows it too
        restart = re.search(rf"^(?:async\s+def|def)\s+{re.escape(entry_point)}\b", rest, re.MULTILINE)
        rest = rest[:restart.start()].strip("\n") if restart else rest
    helpers = _clean(rest, entry_point) if rest and _CODE_START.match(rest) else ""
    if not _has_definitions(helpers):
        helpers = ""  # only usage examples
    if not body:
        return helpers or region + "\n"
    return body + "\n" + ("\n\n" + helpers if helpers else "")


def _chunks(region: str) -> list[str]:
    """Split at lines that start in column 0; decorators and else/except/closing brackets stay attached."""
    chunks: list[list[str]] = []
    decorators: list[str] = []
    for line in region.split("\n"):
        starts_new = bool(line.strip()) and line[0] not in " \t" and not _CONTINUATION.match(line)
        if starts_new and line.startswith("@"):
            decorators.append(line)
        elif starts_new or not chunks:
            chunks.append(decorators + [line])
            decorators = []
        else:
            chunks[-1].append(line)
    if decorators:
        chunks.append(decorators)
    texts = [text for text in ("\n".join(chunk).strip("\n") for chunk in chunks) if text.strip()]
    return _merge_split_statements(texts)


def _merge_split_statements(chunks: list[str]) -> list[str]:
    """Re-join chunks that only compile together (a string or literal with lines in column 0)."""
    merged: list[str] = []
    i = 0
    while i < len(chunks):
        current = chunks[i]
        if not compiles(current):
            for j in range(i + 1, min(i + 6, len(chunks))):
                candidate = "\n".join(chunks[i:j + 1])
                if compiles(candidate):
                    current, i = candidate, j
                    break
        merged.append(current)
        i += 1
    return merged


def _compilable_prefix(chunk: str) -> str | None:
    """The chunk, or its longest prefix of lines that compiles (a generation cut off mid-statement)."""
    all_lines = chunk.rstrip().split("\n")
    lines = list(all_lines)
    while lines:
        code = "\n".join(lines)
        if compiles(code):
            if len(lines) < len(all_lines) and _only_docstrings(parse_python(code)):
                return None  # cut off before the body: nothing worth running
            return code
        lines.pop()
    return None


def _only_docstrings(tree: ast.Module) -> bool:
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        body = node.body
        if not (len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)):
            return False
    return True


def _has_definitions(code: str) -> bool:
    try:
        return any(isinstance(node, _DEFINITIONS) for node in parse_python(code).body)
    except (SyntaxError, ValueError):
        return bool(re.search(r"^(?:def|class|async def) ", code, re.MULTILINE))


def _is_usage(node: ast.stmt, defined: set[str], entry_point: str | None = None) -> bool:
    """Top-level statements that exercise the code rather than define it: examples, prints, asserts, a main
    guard, reading input, the model's own tests. Only applies to regions that define something (a script is
    kept whole)."""
    if isinstance(node, _DEFINITIONS):
        own_test = node.name == "check" or node.name.startswith("test_") or node.name.startswith("Test")
        return own_test and node.name != entry_point
    if isinstance(node, _IMPORTS):
        return False
    if isinstance(node, ast.If):
        return "__name__" in ast.unparse(node.test)
    if isinstance(node, ast.Try):
        return not any(isinstance(sub, _IMPORTS) for sub in ast.walk(node))  # keep optional imports
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        if isinstance(node, ast.AnnAssign) and node.value is None:
            return True  # "Output: 5" is prose that happens to parse
        calls = {sub.func.id for sub in ast.walk(node) if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)}
        return bool(calls & (defined | {"input", "print"}))
    return isinstance(node, (ast.Expr, ast.Assert, ast.For, ast.While, ast.With, ast.AsyncFor, ast.AsyncWith))


def _start_line(node: ast.stmt) -> int:
    return min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", [])])


def _join(pieces: list[str]) -> str:
    """Definitions separated by a blank line; consecutive imports or constants kept together."""
    out = ""
    previous_defines = False
    for piece in pieces:
        piece = piece.strip("\n")
        this_defines = _has_definitions(piece)
        if out:
            out += "\n\n\n" if this_defines or previous_defines else "\n"
        out += piece
        previous_defines = this_defines
    return out + "\n"
