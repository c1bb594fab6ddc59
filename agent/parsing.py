"""`ast.parse` for code the agent reads while tasks are solved in parallel threads (agent/parallel.py).

CPython 3.11 and 3.12 keep the AST converter's recursion depth per interpreter, not per thread, so two threads
parsing at once can fail with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905): a
whole-suite bench stopped on it. One lock makes the parses take turns; each takes well under a millisecond.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse_python(source, *args, **kwargs) -> ast.Module:
    with _LOCK:
        return ast.parse(source, *args, **kwargs)
