"""Task specs: the `Task` the loop solves, and loading one from a TOML file.

A spec file (see examples/*.toml and examples/README.md):

    name = "add"                      # letters, digits, '-', '_', '.'; names the run folder
    description = "Return the sum of a and b."
    language = "python"               # optional; only python
    entry_point = "add"               # the main name the candidate must define: a function or a class
    signature = "def add(a: int, b: int) -> int"
    reference = '''...'''             # optional: a known-good solution (BLEU tie-breaks, sanity checks)

    [tests]                           # exactly one of `pytest`, `asserts` or `stdio`
    pytest = '''
    from solution import add
    def test_small(): assert add(1, 2) == 3
    '''
    # asserts = ["assert add(1, 2) == 3"]   and optional   setup = "import math"
    # stdio = [{stdin = "1 2\n", stdout = "3\n"}]   and optional   compare = "whitespace", atol = 0, rtol = 0

    [limits]                          # optional, per candidate
    timeout_s = 10
    memory_mb = 512

    [budget]                          # optional
    samples = 8                       # candidates per round
    rounds = 3
    max_tokens = 20000                # generated tokens for the whole run
    time_s = 600                      # wall time for the whole run

`signature` is one def line, or several lines: a class with its methods' def lines indented under it, or several
top-level def lines (and classes); `entry_point` names the main one, and the candidate must define every top-level
name of the signature. Colons and bodies are optional. A `stdio` spec has neither: the candidate is a whole program
run as `__main__` on each case's stdin.

Everything is checked before anything runs; each problem is one line naming the file, the key and what is wrong.
"""

from __future__ import annotations

import ast
import keyword
import re
import textwrap
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import UserError
from agent.parsing import parse_python
from agent.signature import complete_signature, signature_names
from sandbox.results import Tests

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TOP_KEYS = {"name", "description", "language", "entry_point", "signature", "reference", "tests", "limits", "budget"}
TEST_KEYS = {"pytest", "asserts", "setup", "stdio", "compare", "atol", "rtol"}
TEST_FORMS = ("pytest", "asserts", "stdio")
STDIO_CASE_KEYS = {"stdin", "stdout"}
COMPARES = ("exact", "whitespace", "tokens")
LIMIT_KEYS = {"timeout_s", "memory_mb"}
BUDGET_KEYS = {"samples", "rounds", "max_tokens", "time_s"}
MAX_TIMEOUT_S = 600.0
MIN_MEMORY_MB = 32


@dataclass
class Budget:
    samples: int = 8  # candidates per round
    rounds: int = 3
    max_tokens: int | None = None  # generated tokens over the whole run
    time_s: float | None = None  # wall seconds over the whole run


@dataclass
class Task:
    task_id: str
    name: str
    description: str
    entry_point: str  # the main name the candidate defines; "" for a whole program (stdio tests)
    signature: str  # one def line, or a class / several defs (one line each); "" for a whole program
    tests: Tests
    reference: str | None = None
    prompt_code: str | None = None  # code the model continues (HumanEval's prompt); None for spec tasks
    timeout_s: float = 10.0
    memory_mb: int = 512
    budget: Budget = field(default_factory=Budget)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tests"] = self.tests.to_dict()
        return d

    @property
    def is_program(self) -> bool:
        """The candidate is a whole program reading stdin and writing stdout, not definitions to import."""
        return self.tests.kind == "stdio"

    @property
    def names(self) -> list[str]:
        """Every top-level name the candidate must define (the entry point first)."""
        names = signature_names(self.signature)
        if self.entry_point and self.entry_point not in names:
            names.insert(0, self.entry_point)
        return sorted(names, key=lambda name: name != self.entry_point)


class _Checker:
    """Collects the path for messages: every failure is `UserError("<file>: <key>: <problem>")`."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str) -> None:
        raise UserError(f"{self.path}: {key}: {problem}")

    def table(self, data: Any, key: str, allowed: set[str]) -> dict:
        if not isinstance(data, dict):
            self.fail(key, f"must be a table ([{key}]), got {_kind(data)}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            where = f"[{key}]" if key else "top level"
            self.fail(f"{key + '.' if key else ''}{unknown[0]}",
                      f"unknown key at {where}; allowed: {', '.join(sorted(allowed))}")
        return data

    def text(self, data: dict, key: str, label: str, required: bool = True) -> str | None:
        if key not in data:
            if required:
                self.fail(label, "missing (required)")
            return None
        value = data[key]
        if not isinstance(value, str):
            self.fail(label, f"must be a string, got {_kind(value)}")
        if not value.strip():
            self.fail(label, "must not be empty")
        return value

    def python(self, source: str, label: str) -> ast.Module:
        try:
            return parse_python(source)
        except SyntaxError as exc:
            self.fail(label, f"is not valid Python (line {exc.lineno}, col {exc.offset}: {exc.msg})")
        except (ValueError, RecursionError, MemoryError) as exc:
            self.fail(label, f"is not valid Python ({exc.__class__.__name__})")
        raise AssertionError("unreachable")

    def number(self, data: dict, key: str, label: str, *, integer: bool, low: float,
               high: float | None = None) -> Any:
        if key not in data:
            return None
        value = data[key]
        ok_types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types):
            self.fail(label, f"must be {'an integer' if integer else 'a number'}, got {_kind(value)}")
        if value < low or (high is not None and value > high):
            bounds = f">= {low:g}" if high is None else f"between {low:g} and {high:g}"
            self.fail(label, f"must be {bounds}, got {value!r}")
        return value


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a float"}.get(type(value), type(value).__name__)


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# what may stand in a class of a signature besides its methods: fields (dataclasses), constants, a docstring
_CLASS_BODY = (ast.FunctionDef, ast.AsyncFunctionDef, ast.AnnAssign, ast.Assign, ast.Expr, ast.Pass)


def _defined_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in getattr(tree, "body", []):
        if isinstance(node, _DEFS):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _signature(check: _Checker, signature: str, entry_point: str) -> tuple[str, ast.Module]:
    """Validate `signature` against `entry_point`; return the text to store and its parsed form."""
    example = f"must be a def line like \"def {entry_point}(x: int) -> int\", a class with its methods' def lines, " \
              "or several def lines"
    code, origin = complete_signature(signature)
    try:
        tree = parse_python(code)
    except SyntaxError as exc:
        line = origin[min(max((exc.lineno or 1) - 1, 0), len(origin) - 1)]
        check.fail("signature", f"is not valid Python (line {line}: {exc.msg}); write one def or class header per line")
    except (ValueError, RecursionError, MemoryError) as exc:
        check.fail("signature", f"is not valid Python ({exc.__class__.__name__})")
    first_line = signature.strip().split("\n", 1)[0]
    for node in tree.body:
        if not isinstance(node, _DEFS + (ast.Import, ast.ImportFrom)):
            line = origin[node.lineno - 1]
            text = signature.strip().split("\n")[line - 1].strip() if "\n" in signature.strip() else first_line
            check.fail("signature", f"{example}; line {line} is {text!r}")
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if not isinstance(member, _CLASS_BODY):
                    check.fail("signature", f"class {node.name}: line {origin[member.lineno - 1]} is not a def line, "
                               "a field or a docstring")
    names = [node.name for node in tree.body if isinstance(node, _DEFS)]
    if not names:
        check.fail("signature", f"{example}; got {first_line!r}")
    for name in names:
        if names.count(name) > 1:
            check.fail("signature", f"defines {name!r} twice")
    if entry_point not in names:
        listed = ", ".join(repr(name) for name in names)
        check.fail("signature", f"defines {listed} but entry_point is {entry_point!r}")
    one_line = len(tree.body) == 1 and "\n" not in signature.strip() and not isinstance(tree.body[0], ast.ClassDef)
    if one_line:  # a single def line is stored as it always was: without its colon
        return signature.strip().rstrip(":").rstrip(), tree
    return textwrap.dedent(signature.expandtabs(4)).strip("\n").rstrip(), tree


def _check_reference(check: _Checker, reference: str, signature_tree: ast.Module | None) -> None:
    """The reference parses and defines every name of the signature (and the methods listed for its classes)."""
    ref_tree = check.python(reference, "reference")
    if signature_tree is None:
        return
    defined = _defined_names(ref_tree)
    for node in signature_tree.body:
        if isinstance(node, _DEFS) and node.name not in defined:
            check.fail("reference", f"does not define {node.name!r} at top level")
    ref_classes = {node.name: node for node in ref_tree.body if isinstance(node, ast.ClassDef)}
    for node in signature_tree.body:
        ref_class = ref_classes.get(node.name) if isinstance(node, ast.ClassDef) else None
        if ref_class is None or ref_class.bases:  # a method may come from a base class
            continue
        has = _defined_names(ref_class)
        for member in node.body:
            if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and member.name not in has:
                check.fail("reference", f"class {node.name} does not define {member.name} (the signature lists it)")


def load_spec(path: str | Path) -> Task:
    """Read and validate a spec file; raises `UserError` (one line) on the first problem found."""
    path = Path(path)
    check = _Checker(path)
    if not path.is_file():
        raise UserError(f"{path}: no such spec file; pass the path of a .toml spec (see examples/)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save the spec as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    return task_from_dict(data, check)


def task_from_dict(data: dict, check: _Checker | None = None) -> Task:
    """Validate parsed spec data (the TOML's tables) and build the `Task`."""
    check = check or _Checker(Path("<spec>"))
    check.table(data, "", TOP_KEYS)

    name = check.text(data, "name", "name")
    if not NAME_RE.match(name):
        check.fail("name", f"{name!r} may hold only letters, digits, '-', '_' and '.' (it names the run folder)")
    description = check.text(data, "description", "description").strip()
    language = data.get("language", "python")
    if language != "python":
        check.fail("language", f"only \"python\" is supported, got {language!r}")

    if "tests" not in data:
        check.fail("tests", "missing (required): add a [tests] table with `pytest = '''...'''`, `asserts = [...]` "
                   "or `stdio = [...]`")
    raw_tests = check.table(data["tests"], "tests", TEST_KEYS)
    forms = [form for form in TEST_FORMS if form in raw_tests]
    if len(forms) != 1:
        check.fail("tests", "give exactly one of `pytest = '''...'''`, `asserts = [...]` or `stdio = [...]`")

    signature_tree = None
    if forms[0] == "stdio":
        for key in ("entry_point", "signature"):
            if key in data:
                check.fail(key, "not used with `stdio` tests (the candidate is a whole program run as __main__); "
                           "remove it")
        entry_point = signature = ""
        tests = _stdio_tests(check, raw_tests)
    else:
        entry_point = check.text(data, "entry_point", "entry_point").strip()
        if not entry_point.isidentifier() or keyword.iskeyword(entry_point):
            check.fail("entry_point", f"{entry_point!r} is not a Python function or class name")
        signature, signature_tree = _signature(check, check.text(data, "signature", "signature"), entry_point)
        names = [node.name for node in signature_tree.body if isinstance(node, _DEFS)]
        tests = _tests(check, raw_tests, entry_point, names)

    reference = check.text(data, "reference", "reference", required=False)
    if reference is not None:
        _check_reference(check, reference, signature_tree)

    limits = check.table(data.get("limits", {}), "limits", LIMIT_KEYS)
    timeout_s = check.number(limits, "timeout_s", "limits.timeout_s", integer=False, low=0.1, high=MAX_TIMEOUT_S)
    memory_mb = check.number(limits, "memory_mb", "limits.memory_mb", integer=True, low=MIN_MEMORY_MB, high=65536)

    raw_budget = check.table(data.get("budget", {}), "budget", BUDGET_KEYS)
    budget = Budget()
    for key, integer, low in (("samples", True, 1), ("rounds", True, 1), ("max_tokens", True, 1),
                              ("time_s", False, 1)):
        value = check.number(raw_budget, key, f"budget.{key}", integer=integer, low=low)
        if value is not None:
            setattr(budget, key, float(value) if key == "time_s" else value)

    return Task(
        task_id=name, name=name, description=description, entry_point=entry_point, signature=signature,
        tests=tests, reference=reference,
        timeout_s=float(timeout_s) if timeout_s is not None else 10.0,
        memory_mb=memory_mb if memory_mb is not None else 512, budget=budget,
    )


def _tests(check: _Checker, tests: dict, entry_point: str, names: list[str]) -> Tests:
    for key in ("compare", "atol", "rtol"):
        if key in tests:
            check.fail(f"tests.{key}", "only goes with `stdio` tests")
    if "pytest" in tests:
        if "setup" in tests:
            check.fail("tests.setup", "only goes with `asserts`; put imports at the top of the pytest source")
        source = check.text(tests, "pytest", "tests.pytest")
        tree = check.python(source, "tests.pytest")
        # fixtures and parametrize are fine: the judge runs real pytest; test classes count as tests too
        has_tests = any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
                        or isinstance(node, ast.ClassDef) and node.name.startswith("Test") for node in tree.body)
        if not has_tests:
            check.fail("tests.pytest", "defines no `def test_...():` function")
        if "solution" not in source:
            check.fail("tests.pytest", f"never imports the candidate; add `from solution import {', '.join(names)}`")
        return Tests(kind="pytest", source=source, entry_point=entry_point)

    asserts = tests["asserts"]
    if not isinstance(asserts, list) or not asserts:
        check.fail("tests.asserts", f"must be a non-empty array of assert statements, got {_kind(asserts)}")
    for i, statement in enumerate(asserts):
        label = f"tests.asserts[{i}]"
        if not isinstance(statement, str):
            check.fail(label, f"must be a string, got {_kind(statement)}")
        tree = check.python(statement, label)
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
            check.fail(label, f"must be one assert statement like \"assert {entry_point}(1) == 2\"")
    setup = ""
    if "setup" in tests:
        setup = check.text(tests, "setup", "tests.setup")
        check.python(setup, "tests.setup")
    return Tests(kind="asserts", asserts=[a.strip() for a in asserts], setup=setup, entry_point=entry_point)


def _stdio_tests(check: _Checker, tests: dict) -> Tests:
    if "setup" in tests:
        check.fail("tests.setup", "only goes with `asserts`; a stdio program holds its own imports")
    cases = tests["stdio"]
    shape = '{stdin = "...", stdout = "..."}'
    if not isinstance(cases, list) or not cases:
        check.fail("tests.stdio", f"must be a non-empty array of {shape} tables, got {_kind(cases)}")
    checked = []
    for i, case in enumerate(cases):
        label = f"tests.stdio[{i}]"
        if not isinstance(case, dict):
            check.fail(label, f"must be a table like {shape}, got {_kind(case)}")
        unknown = sorted(set(case) - STDIO_CASE_KEYS)
        if unknown:
            check.fail(f"{label}.{unknown[0]}", "unknown key; allowed: stdin, stdout")
        if "stdout" not in case:
            check.fail(f"{label}.stdout", "missing (required): the output the program must print")
        for key in ("stdin", "stdout"):
            if key in case and not isinstance(case[key], str):
                check.fail(f"{label}.{key}", f"must be a string, got {_kind(case[key])}")
        checked.append({"stdin": case.get("stdin", ""), "stdout": case["stdout"]})
    compare = tests.get("compare", "whitespace")
    if compare not in COMPARES:
        check.fail("tests.compare", f"must be one of {', '.join(repr(c) for c in COMPARES)}, got {compare!r}")
    tolerances = {}
    for key in ("atol", "rtol"):
        value = check.number(tests, key, f"tests.{key}", integer=False, low=0.0)
        if value is not None and compare != "tokens":
            check.fail(f"tests.{key}", "only applies with compare = \"tokens\" (numbers within a tolerance)")
        tolerances[key] = float(value or 0.0)
    return Tests(kind="stdio", cases=checked, compare=compare, atol=tolerances["atol"], rtol=tolerances["rtol"])
