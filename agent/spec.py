"""Task specs: the `Task` the loop solves, and loading one from a TOML file.

A spec file (see examples/*.toml):

    name = "add"                      # letters, digits, '-', '_', '.'; names the run folder
    description = "Return the sum of a and b."
    language = "python"               # optional; only python
    entry_point = "add"
    signature = "def add(a: int, b: int) -> int"
    reference = '''...'''             # optional: a known-good solution (BLEU tie-breaks, sanity checks)

    [tests]                           # exactly one of `pytest` or `asserts`
    pytest = '''
    from solution import add
    def test_small(): assert add(1, 2) == 3
    '''
    # asserts = ["assert add(1, 2) == 3"]   and optional   setup = "import math"

    [limits]                          # optional, per candidate
    timeout_s = 10
    memory_mb = 512

    [budget]                          # optional
    samples = 8                       # candidates per round
    rounds = 3
    max_tokens = 20000                # generated tokens for the whole run
    time_s = 600                      # wall time for the whole run

Everything is checked before anything runs; each problem is one line naming the file, the key and what is wrong.
"""

from __future__ import annotations

import ast
import keyword
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import UserError
from sandbox.results import Tests

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TOP_KEYS = {"name", "description", "language", "entry_point", "signature", "reference", "tests", "limits", "budget"}
TEST_KEYS = {"pytest", "asserts", "setup"}
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
    entry_point: str
    signature: str
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
            return ast.parse(source)
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


def _defined_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in getattr(tree, "body", []):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


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

    entry_point = check.text(data, "entry_point", "entry_point").strip()
    if not entry_point.isidentifier() or keyword.iskeyword(entry_point):
        check.fail("entry_point", f"{entry_point!r} is not a Python function name")

    signature = check.text(data, "signature", "signature").strip()
    header = signature.rstrip(":").rstrip()
    if not header.startswith(("def ", "async def ")):
        check.fail("signature", f"must be a def line like \"def {entry_point}(x: int) -> int\", got {signature!r}")
    tree = check.python(header + ":\n    pass\n", "signature")
    func = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or func.body[0].__class__ is not ast.Pass:
        check.fail("signature", f"must be one def line, got {signature!r}")
    if func.name != entry_point:
        check.fail("signature", f"defines {func.name!r} but entry_point is {entry_point!r}")

    reference = check.text(data, "reference", "reference", required=False)
    if reference is not None:
        ref_tree = check.python(reference, "reference")
        if entry_point not in _defined_names(ref_tree):
            check.fail("reference", f"does not define {entry_point!r} at top level")

    if "tests" not in data:
        check.fail("tests", "missing (required): add a [tests] table with `pytest = '''...'''` or `asserts = [...]`")
    tests = _tests(check, check.table(data["tests"], "tests", TEST_KEYS), entry_point)

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
        task_id=name, name=name, description=description, entry_point=entry_point, signature=header,
        tests=tests, reference=reference,
        timeout_s=float(timeout_s) if timeout_s is not None else 10.0,
        memory_mb=memory_mb if memory_mb is not None else 512, budget=budget,
    )


def _tests(check: _Checker, tests: dict, entry_point: str) -> Tests:
    has_pytest, has_asserts = "pytest" in tests, "asserts" in tests
    if has_pytest == has_asserts:
        check.fail("tests", "give exactly one of `pytest = '''...'''` or `asserts = [...]`")
    if has_pytest:
        if "setup" in tests:
            check.fail("tests.setup", "only goes with `asserts`; put imports at the top of the pytest source")
        source = check.text(tests, "pytest", "tests.pytest")
        tree = check.python(source, "tests.pytest")
        test_funcs = [n.name for n in tree.body
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")]
        if not test_funcs:
            check.fail("tests.pytest", "defines no `def test_...():` function")
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                if node.args.args or node.args.posonlyargs or node.args.kwonlyargs or node.args.vararg:
                    check.fail("tests.pytest", f"{node.name} takes arguments; fixtures and parametrize are not "
                               "supported, write one test function per case")
        if "solution" not in source:
            check.fail("tests.pytest", f"never imports the candidate; add `from solution import {entry_point}`")
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
