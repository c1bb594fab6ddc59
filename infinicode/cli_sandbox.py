"""`infinicode exec` (one candidate against a test file) and `infinicode sandbox build`."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import typer

from agent.errors import UserError

sandbox_app = typer.Typer(no_args_is_help=True, help="The Docker sandbox that runs candidate code.")


def tests_from_file(path: Path, entry_point: str | None = None):
    """Tell the test file's form from its content: test_* functions, check(candidate), or bare asserts."""
    from sandbox import Tests

    source = _read(path)
    try:
        tree = ast.parse(source, str(path))
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: the test file does not parse: {exc.msg}") from None
    functions = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if any(name.startswith("test") for name in functions) or any(_is_test_class(n) for n in tree.body):
        return Tests("pytest", source=source)
    if "check" in functions:
        if not entry_point:
            raise UserError(f"{path} defines check(candidate): pass --entry-point NAME (the function to check)")
        return Tests("humaneval", source=source, entry_point=entry_point)
    if not any(isinstance(n, ast.Assert) for n in tree.body):
        raise UserError(f"{path} has no test_* functions, no check(candidate) and no assert statements")
    # a script of asserts: each assert is a test, run in order in one namespace with the statements before it
    # (`s = MinStack(); s.push(3)` then `assert s.top() == 3`); statements after the last one go with it
    asserts, pending = [], []
    for node in tree.body:
        pending.append(ast.get_source_segment(source, node))
        if isinstance(node, ast.Assert):
            asserts.append("\n".join(pending))
            pending = []
    if pending:
        asserts[-1] += "\n" + "\n".join(pending)
    return Tests("asserts", asserts=asserts)


def _is_test_class(node) -> bool:
    """A class pytest collects: `class TestParser:` or a unittest.TestCase (`class ParserTests(unittest.TestCase)`)."""
    if not isinstance(node, ast.ClassDef):
        return False
    bases = [ast.unparse(base) for base in node.bases]
    return node.name.startswith("Test") or any(base.endswith("TestCase") for base in bases)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None


def exec_command(
    solution: Path = typer.Argument(..., help="The candidate program; tests import it as `solution`, or by its "
                                              "file name (`sol.py`: `import sol`)."),
    tests: Path = typer.Argument(..., help="test_* functions, check(candidate) with --entry-point, or asserts."),
    timeout: float = typer.Option(10.0, help="Wall-clock seconds for the whole run."),
    memory: int = typer.Option(512, help="Memory limit in MB."),
    entry_point: str = typer.Option(None, help="Function passed to check(candidate) in HumanEval-style tests."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a summary."),
) -> None:
    """Run SOLUTION against TESTS in the sandbox. Exit 0 when every test passed, 1 when not, 2 on bad input."""
    from infinicode.wiring import open_sandbox
    from sandbox import Job

    program = _read(solution)
    spec = tests_from_file(tests, entry_point)
    if solution.stem.isidentifier():  # a test file written for sol.py imports `sol`
        spec.module = solution.stem
    if timeout <= 0 or memory < 16:
        raise UserError("--timeout must be positive and --memory at least 16 (MB)")
    with open_sandbox(workers=1, memory_mb=memory) as sb:
        result = sb.run([Job(program, spec, timeout_s=timeout, memory_mb=memory)])[0]
    if as_json:
        print(json.dumps(result.to_dict()))
    else:
        for t in result.tests:
            detail = f"\n         {t.message}" if t.message and t.outcome != "passed" else ""
            print(f"{t.outcome.upper():8} {t.name}{detail}")
        print(f"{result.status}: {result.passed}/{result.total} passed in {result.duration_s:.3f} s"
              + (f" - {result.message}" if result.message else ""))
    sys.exit(0 if result.ok else 1)


@sandbox_app.command("build")
def build_command(
    offline: bool = typer.Option(False, "--offline", help="Build from Debian's packages (mmdebstrap), no registry."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the image for this recipe exists."),
) -> None:
    """Build the sandbox image (tagged by a hash of its recipe; skipped when it is up to date)."""
    from sandbox.build import ensure_image
    from sandbox.engine import connect

    tag = ensure_image(connect(), offline=True if offline else None, force=force,
                       log=lambda msg: print(msg, file=sys.stderr))
    print(tag)


def register(app: typer.Typer) -> None:
    app.command("exec")(exec_command)
    app.add_typer(sandbox_app, name="sandbox")
