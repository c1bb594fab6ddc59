"""`solution` as the tests see it: a module whose functions and classes are the program's, and the module-level
things tests do with it besides calling into it: `importlib.reload(solution)` (a test that sets an environment
variable, then reloads the program to read it again) and `doctest.testmod(solution)` (the examples in the
program's docstrings). Both run in the candidate process; the program's code never runs in the judge.
"""

from __future__ import annotations

import doctest
import importlib
import linecache
import logging.config
import sys
import types
import unittest._log

from .proxies import DATA_DUNDERS, RemoteClass, RemoteObject, Unsupported, is_proxy

_ORIGINAL = {"reload": importlib.reload, "testmod": doctest.testmod, "find": doctest.DocTestFinder.find,
             "_find": doctest.DocTestFinder._find, "resolve": logging.config.BaseConfigurator.resolve,
             "_resolve": logging.config._resolve, "assert_logs_enter": unittest._log._AssertLogsContext.__enter__}
_IMMUTABLE = (int, float, bool, str, bytes, complex, tuple, frozenset, type(None))


class SolutionModule(types.ModuleType):
    """Functions and classes are kept; other names are read when used. A plain value (`calls = 0`) is read from the
    program each time, since the program may change it; its last value also stands in the module's __dict__, where
    pytest 8's monkeypatch looks for the value to restore."""

    def __getattribute__(self, name):
        own = super().__getattribute__("__dict__")
        if name in own.get("_ic_plain", ()):
            value = own[name] = own["_ic_conn"].get(own["_ic_module"], name)
            return value
        return super().__getattribute__(name)

    def __getattr__(self, name):
        if name.startswith("__") and name not in DATA_DUNDERS:  # `solution.__version__` is the program's
            raise AttributeError(name)
        value = self.__dict__["_ic_conn"].get(self.__dict__["_ic_module"], name)
        if isinstance(value, (RemoteObject, RemoteClass)) and callable(value):
            self.__dict__[name] = value
        return value

    def __setattr__(self, name, value):
        """monkeypatch.setattr(solution, "fetch", fake) and mock.patch("solution.fetch"): the program's own code
        calls the replacement too (it is set in the program's module; a function of the tests runs as a callback)."""
        if not name.startswith("_"):
            self.__dict__["_ic_conn"].set(self.__dict__["_ic_module"], name, value)
            if type(value) in _IMMUTABLE:  # `solution.calls = 0`: read from the program again, which counts on
                self.__dict__["_ic_plain"].add(name)
            else:
                self.__dict__["_ic_plain"].discard(name)
        super().__setattr__(name, value)

    def __delattr__(self, name):
        if not name.startswith("_"):
            self.__dict__["_ic_conn"].callm(self.__dict__["_ic_module"], "__delattr__", (name,))
            self.__dict__["_ic_plain"].discard(name)
            self.__dict__.pop(name, None)
            return
        super().__delattr__(name)


def solution_module(conn, module_proxy, names) -> SolutionModule:
    """The module the tests import, from the names the program defined when it ran."""
    solution = SolutionModule("solution")
    solution.__dict__.update(_ic_conn=conn, _ic_module=module_proxy, __file__="solution.py", _ic_plain=set())
    if type(conn.program_source) is str:  # inspect.getsource(solution) reads the program's text (never a file)
        lines = conn.program_source.splitlines(True)
        linecache.cache["solution.py"] = (len(conn.program_source), None, lines, "solution.py")
    _take_names(solution, names)
    return solution


def _take_names(solution, names):
    for name in [n for n in solution.__dict__ if not n.startswith(("_ic_", "__"))]:
        del solution.__dict__[name]
    solution.__dict__.update({k: v for k, v in names.items() if isinstance(v, (RemoteObject, RemoteClass))
                              or isinstance(v, type)})
    plain = {k: v for k, v in names.items() if type(v) in _IMMUTABLE and not k.startswith("_")}
    solution.__dict__.update(plain, _ic_plain=set(plain))
    doc = names.get("__doc__")
    solution.__dict__["__doc__"] = doc if type(doc) is str else None  # the program's docstring, as `import` sets it
    public = names.pop("__all__", None)  # what `from solution import *` takes
    modules = _standard_modules(solution, names)
    solution.__dict__["_ic_star_modules"] = modules
    if type(public) not in (list, tuple):
        # a module the program imported is the tests' own (one process has one `types`): not taken from the
        # program, but put in the tests' namespace beforehand (judge.py), where their own import finds it again
        public = [n for n in names if not n.startswith("_") and n not in modules]
    solution.__dict__["__all__"] = [str(n) for n in public]


# Standard modules whose import does something (opens a browser, prints, starts a GUI): never imported in the judge
# because the program claims to have one.
_IMPORT_SIDE_EFFECTS = {"antigravity", "this", "__hello__", "__phello__", "idlelib", "turtledemo", "turtle", "tkinter",
                        "webbrowser", "ensurepip", "venv", "pydoc", "lib2to3", "pdb", "code", "site", "sitecustomize"}


def _standard_modules(solution, names) -> dict:
    """The program's names bound to a standard module (or numpy), as the judge's own modules."""
    found = {}
    for name, value in names.items():
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):  # a pure library module: already the judge's own
            found[name] = value
            continue
        if not (isinstance(value, RemoteObject) and type(value)._ic_desc.get("name") == "module"):
            continue
        module_name = solution.__dict__["_ic_conn"].get(value, "__name__")
        if type(module_name) is not str or module_name.split(".")[0] not in sys.stdlib_module_names \
                or module_name.split(".")[0] in _IMPORT_SIDE_EFFECTS:
            continue
        try:
            found[name] = importlib.import_module(module_name)
        except Exception:  # not importable here: the tests keep the program's
            continue
    return found


def install():
    """Once, at the judge's start."""
    importlib.reload = _reload
    doctest.testmod = _testmod
    # Text of the program never runs here: its docstrings' examples (doctest.testmod runs them in the candidate), or
    # a logging configuration it made naming factories to call (`"()": "timeit.timeit"`), or a config file's
    # arguments, which fileConfig evaluates.
    doctest.DocTestFinder.find = _find_doctests
    doctest.DocTestFinder._find = _find_doctests_inside
    logging.config.BaseConfigurator.resolve = _resolve_logging_name
    logging.config._resolve = lambda name: _check_logging_name(name) or _ORIGINAL["_resolve"](name)
    logging.config.fileConfig = _file_config
    unittest._log._AssertLogsContext.__enter__ = _assert_logs_enter


def _assert_logs_enter(context):
    """assertLogs(solution.logger): the tests' logger of that name, where the program's records are logged again."""
    if is_proxy(context.logger_name):
        from .mirrors import tests_logger
        context.logger_name = tests_logger(context.logger_name).name
    return _ORIGINAL["assert_logs_enter"](context)


def _find_doctests(finder, obj, name=None, module=None, globs=None, extraglobs=None):
    if is_proxy(obj) or type(obj) is SolutionModule or type(module) is SolutionModule:
        raise Unsupported("running the program's docstring examples in the tests' process (doctest.testmod(solution) "
                          "runs them in the program's)")
    return _ORIGINAL["find"](finder, obj, name, module, globs, extraglobs)


def _find_doctests_inside(finder, tests, obj, *args, **kwargs):
    if is_proxy(obj) or type(obj) is SolutionModule:  # the program's objects found inside the tests' module
        return None
    return _ORIGINAL["_find"](finder, tests, obj, *args, **kwargs)


def _check_logging_name(name) -> None:
    top = str(name).split(".")[0]
    if top not in ("logging", "solution") and str(name) not in ("sys.stdout", "sys.stderr"):
        raise ValueError(f"Cannot resolve {name!r}: in the tests' process a logging configuration may name logging's "
                         "own classes and the program's")


def _resolve_logging_name(configurator, name):
    _check_logging_name(name)
    return _ORIGINAL["resolve"](configurator, name)


def _file_config(*args, **kwargs):
    raise Unsupported("logging.config.fileConfig in the tests: it evaluates the file's text, which may be the "
                      "program's")


def _reload(module):
    if type(module) is not SolutionModule:
        return _ORIGINAL["reload"](module)
    conn = module.__dict__["_ic_conn"]
    names = conn.request({"op": "reload", "t": conn.codec.encode(module.__dict__["_ic_module"]),
                          "n": conn.program_source})
    if type(names) is not dict:
        raise ImportError("the program's module could not be reloaded")
    _take_names(module, {str(k): v for k, v in names.items()})
    return module


def _testmod(m=None, name=None, globs=None, verbose=None, report=True, optionflags=0, extraglobs=None,
             raise_on_error=False, exclude_empty=False):
    if type(m) is not SolutionModule:
        return _ORIGINAL["testmod"](m, name, globs, verbose, report, optionflags, extraglobs, raise_on_error,
                                    exclude_empty)
    if globs is not None or extraglobs is not None or raise_on_error:
        raise m.__dict__["_ic_conn"].unsupported_construct("doctest.testmod of the program with globs, extraglobs "
                                                           "or raise_on_error")
    conn = m.__dict__["_ic_conn"]
    counts = conn.request({"op": "doctest", "t": conn.codec.encode(m.__dict__["_ic_module"]),
                           "a": [bool(verbose), bool(report), int(optionflags), bool(exclude_empty)]})
    if type(counts) not in (list, tuple) or len(counts) != 2 or any(type(c) is not int for c in counts):
        raise RuntimeError("the program's doctests gave no result")
    return doctest.TestResults(*counts)
