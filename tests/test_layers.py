"""The import direction between the project's packages, read from the source (ast; nothing is imported or run).

Layers, bottom to top: sandbox/ (runs candidate code) < agent/ (the loop, model backends, fine-tuning, run
folders) < benchmarks/ (suites, bench runs, reports) < infinicode/ (the command line and the workflows over all
of them). A module may import its own layer and the layers below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("sandbox", "agent", "benchmarks", "infinicode")  # bottom to top


def imported_packages(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, top-level name) of every import in the module, lazy ones inside functions included; relative
    imports are resolved against the module's own package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, package if node.level else (node.module or "").split(".")[0]))
    return found


def upward_imports(root: Path) -> list[str]:
    """'path:line: <layer> imports <higher layer>' for each import that goes up."""
    problems = []
    for rank, layer in enumerate(LAYERS):
        above = set(LAYERS[rank + 1:])
        for path in sorted((root / layer).rglob("*.py")):
            for line, name in imported_packages(path, layer):
                if name in above:
                    problems.append(f"{path.relative_to(root)}:{line}: {layer}/ imports {name}/")
    return problems


def test_no_module_imports_a_layer_above_its_own():
    problems = upward_imports(REPO)
    assert not problems, ("imports must go down (" + " < ".join(LAYERS) + "):\n" + "\n".join(problems))


def test_the_check_sees_lazy_and_relative_imports(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "agent" / "loop.py").write_text("import sandbox\n\ndef f():\n    from benchmarks.suites import x\n")
    (tmp_path / "sandbox" / "pool.py").write_text("from . import engine\nimport agent.spec as spec\n")
    (tmp_path / "benchmarks" / "run.py").write_text("import json, infinicode.cli\nfrom agent import spec\n")
    (tmp_path / "infinicode" / "cli.py").write_text("import agent, benchmarks, sandbox\n")
    assert upward_imports(tmp_path) == [
        "sandbox/pool.py:2: sandbox/ imports agent/",
        "agent/loop.py:4: agent/ imports benchmarks/",
        "benchmarks/run.py:1: benchmarks/ imports infinicode/",
    ]
