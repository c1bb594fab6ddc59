"""Library functions, classes and modules named instead of described, both ways: the judge names its library objects
for the candidate (by_name: the candidate gets its own copy), and the candidate names a pure library's objects for
the judge (walk_library, library_object: the judge's own, reached through classes only). Library exception classes
are the judge's own too (library_exception), never one that steers the test run.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import types
import unittest

from .proxies import TEST_MODULE, is_proxy


def by_name(obj):
    """(module, qualname) when obj is a library function, class or method that resolves back to itself."""
    if is_proxy(obj) or not isinstance(
            obj, (types.BuiltinFunctionType, types.FunctionType, type, types.MethodDescriptorType,
                  types.WrapperDescriptorType, types.ClassMethodDescriptorType)) and type(obj).__name__ != "ufunc":
        return None
    module = getattr(obj, "__module__", None)
    if module is None and type(obj).__name__ == "ufunc":  # numpy's (np.sqrt) carry no module of their own
        module = "numpy"
    if module is None and hasattr(obj, "__objclass__"):
        module = obj.__objclass__.__module__
    if module is None and isinstance(getattr(obj, "__self__", None), types.ModuleType):
        module = obj.__self__.__name__
    if module is None and isinstance(getattr(obj, "__self__", None), type):  # date.fromisoformat, bytes.fromhex
        module = obj.__self__.__module__
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module in (TEST_MODULE, "solution") \
            or module.startswith(("infinicode_runner", "_pytest", "pytest")) or "<" in qualname:
        return None
    try:
        found = importlib.import_module(module) if module in sys.modules else None
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:
        return None
    # (a classmethod of a builtin class is a new bound object at each read: the same one is equal)
    same = found is obj or (isinstance(obj, types.BuiltinMethodType) and isinstance(obj.__self__, type)
                            and type(found) is type(obj) and found == obj)
    return [module, qualname] if same else None


# Libraries whose modules, functions and classes the candidate may name instead of describing them: computation
# only, nothing that reaches files, processes or the interpreter (a test may call what the program returns).
PURE_LIBRARIES = {"math", "cmath", "operator", "itertools", "collections", "collections.abc", "string", "re",
                  "typing", "datetime", "decimal", "fractions", "statistics", "heapq", "bisect", "random", "json",
                  "enum", "dataclasses", "copy", "textwrap", "unicodedata", "numbers", "array", "numpy", "builtins"}
PURE_BUILTINS = {"abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr", "complex",
                 "dict", "divmod", "enumerate", "filter", "float", "format", "frozenset", "hash", "hex", "int",
                 "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "object", "oct", "ord",
                 "pow", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip"}


def is_pure_library(module, qualname):
    if module == "builtins":
        return qualname in PURE_BUILTINS or (isinstance(getattr(builtins, qualname, None), type)
                                              and issubclass(getattr(builtins, qualname), Exception))
    return module in PURE_LIBRARIES and "<" not in qualname and not qualname.startswith("_")


def walk_library(module, qualname):
    """The object `qualname` names in a pure library's module: a class's members only, never a module reached
    through another (`dataclasses.builtins.eval`, a library's `sys` or `os`) nor a private name. What the candidate
    names honestly is a class path from __qualname__. None where it names nothing of the sort."""
    found = sys.modules.get(module)
    if found is None or not is_pure_library(module, qualname):
        return None
    for part in filter(None, qualname.split(".")):
        if part.startswith("_") or (found is not sys.modules[module] and not isinstance(found, type)):
            return None
        try:
            found = getattr(found, part)
        except Exception:
            return None
        if isinstance(found, types.ModuleType):
            return None
    return found


def library_object(name):
    """A module, function or class of a pure library both sides had loaded before the program ran, named by the
    candidate (`import math`, `from typing import List`): the judge's own, so nothing needs describing."""
    module, qualname = (str(part) for part in name) if type(name) is list and len(name) == 2 else ("", "")
    found = walk_library(module, qualname)
    if found is None:
        raise ValueError("not a library object the program may name")
    if not isinstance(found, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type,
                              types.MethodDescriptorType)) and type(found).__module__ not in ("typing", "numpy"):
        raise ValueError("not a library object")
    return found


# Exceptions that steer the test run itself: a skip or an outcome of pytest's or unittest's, a rejected example of
# hypothesis's (UnsatisfiedAssumption would make it drop the inputs that show a bug). Never rebuilt from the program.
_RUN_CONTROL_PACKAGES = ("_pytest", "pytest", "pluggy", "unittest", "infinicode_runner", "hypothesis",
                         "_hypothesis_pytestplugin", "_hypothesis_globals", "pytest_asyncio")


def library_exception(module, qualname):
    """The judge's own class for an exception class of a library the judge has loaded (json.JSONDecodeError,
    dataclasses.FrozenInstanceError...), so `pytest.raises(TheirLibraryError)` works. Never one that steers the test
    run (above), never the runner's."""
    if module in ("solution", TEST_MODULE, "builtins") or module not in sys.modules:
        return None
    found = sys.modules[module]
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not (isinstance(found, type) and issubclass(found, Exception)) or issubclass(found, unittest.SkipTest) \
            or found.__module__ != module or any(
                str(getattr(c, "__module__", "")).split(".")[0] in _RUN_CONTROL_PACKAGES for c in found.__mro__):
        return None
    return found
