"""Process state the tests set and the program reads, carried from the judge to the candidate.

In one process, a test that calls `monkeypatch.setenv`, `monkeypatch.chdir`, sets `sys.argv`, seeds `random`, sets a
logger's level, the decimal precision or the recursion limit, or patches a module, changes what the code under test
sees. Here the tests run in the judge and the program in its own process, so before a request the judge sends what
changed since the candidate was forked (`TestsState.changes`; patches: module_patches.py) and the candidate applies it
(`apply`). `random` and
numpy's global generator are carried once the tests seed them (random.seed / setstate, numpy.random.seed /
set_state): from then on they are one sequence, as in one process, so what the program draws moves the tests'
generator on too (`rng_after_call`, `take_rng`). Of what else the program does to its process, only its log
records come back, for pytest's caplog (log_records.py).
"""

from __future__ import annotations

import decimal
import inspect
import logging
import os
import random
import sys

from . import module_patches
from .log_records import MAX_JOB_RECORDS, Forward

_REAL_SETSTATE = random.setstate
REAL_SET_RECURSION = sys.setrecursionlimit
JUDGE_RECURSION = 10_000  # the judge's own limit (frames of nested callbacks); tests may raise it, never lower it
_start = [None]  # the judge's working directory and environment before any job
_recursion = [None]  # the limit the tests of the job under way set, for the program (None: they set none)
_REAL_SET_LEVEL = logging.Logger.setLevel
_seedings = [0]  # seedings of random or numpy's global generator in this process
_REAL_NP_SET_STATE = [None]  # numpy.random.set_state before install() counts it
_rng_synced = [False]  # in the candidate: the tests seeded the generators, whose states now travel both ways
_level_settings = [0]  # Logger.setLevel calls in this process


def _set_level(logger, level):
    _REAL_SET_LEVEL(logger, level)
    _level_settings[0] += 1


def _set_recursion(limit):
    """sys.setrecursionlimit in the tests: the program gets the same limit (a deep recursion the test allows)."""
    limit = int(limit.__index__())
    if limit < 1:
        raise ValueError("recursion limit must be greater or equal than 1")
    REAL_SET_RECURSION(max(limit, JUDGE_RECURSION))
    _recursion[0] = limit


def job_done() -> None:
    """In the judge, after each job: what its tests (or its program) set does not carry over to the next one."""
    _recursion[0] = None
    REAL_SET_RECURSION(JUDGE_RECURSION)
    if _start[0] is not None:
        cwd, env = _start[0]
        if _environ() != env:
            os.environ.clear()
            os.environ.update({_decode(k): _decode(v) for k, v in env.items()})  # (the raw mapping holds bytes)
        try:
            if _cwd() != cwd:
                os.chdir(cwd)
        except OSError:
            pass


def _unwrap(func, *, stop=None):
    """inspect.unwrap, following at most Python's default recursion limit of `__wrapped__` links, not the judge's
    (JUDGE_RECURSION): pytest 9 unwraps every name of a test module at collection, and mock's `call` makes a new
    object for each `__wrapped__` read, each with a longer name, so 10,000 links took 600 MB."""
    found, seen = func, {id(func)}
    while hasattr(found, "__wrapped__") and not (stop is not None and stop(found)):
        found = found.__wrapped__
        if id(found) in seen or len(seen) >= _UNWRAP_LIMIT:
            raise ValueError(f"wrapper loop when unwrapping {func!r}")
        seen.add(id(found))
    return found


_UNWRAP_LIMIT = 1000


def _counting(fn):
    def counted(*args, **kwargs):
        result = fn(*args, **kwargs)
        _seedings[0] += 1
        return result
    return counted


def install() -> None:
    """Count the seedings of `random` and numpy's global generator, the setting of log levels, and the tests'
    patches (monkeypatch, mock.patch): once, in the judge, before the tests load."""
    random.seed, random.setstate = _counting(random.seed), _counting(random.setstate)
    inspect.unwrap = _unwrap
    logging.Logger.setLevel = _set_level
    sys.setrecursionlimit = _set_recursion
    REAL_SET_RECURSION(JUDGE_RECURSION)
    _start[0] = (_cwd(), _environ())  # what job_done puts back
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        _REAL_NP_SET_STATE[0] = numpy.random.set_state
        numpy.random.seed, numpy.random.set_state = _counting(numpy.random.seed), _counting(numpy.random.set_state)
    module_patches.install()


def _levels() -> dict:
    loggers = [("", logging.getLogger())] + [(name, logger) for name, logger in
                                             logging.Logger.manager.loggerDict.items()
                                             if isinstance(logger, logging.Logger)]
    return {name: logger.level for name, logger in loggers}


class TestsState:
    """The judge's environment, working directory, argv, seedings and log levels, as the candidate last saw them."""

    def __init__(self):  # made when the candidate is forked: it has the same state
        self.env, self.cwd, self.argv, self.seedings = _environ(), _cwd(), list(sys.argv), _seedings[0]
        self.level_settings, self.levels = _level_settings[0], _levels()
        self.forward_logs = False  # set by the judge for pytest's forms: the program's records come back
        self.forwarding = False
        self.records_left = MAX_JOB_RECORDS
        self.patchings, self.patches_sent = module_patches.PATCHINGS[0], {}
        self.decimal = _decimal_context()
        self.digits = sys.get_int_max_str_digits()
        self.recursion = None
        self.rng_sent = None  # the generators' states as the candidate has them, once the tests seeded them

    def take_rng(self, states) -> None:
        """The generators' states after a call in which the program drew from them: the tests' go on from there."""
        if type(states) is dict and (self.rng_sent is not None or states.get("program") is True):
            set_rng(states)
            self.rng_sent = rng_states()

    def changes(self, encode) -> dict | None:
        """What changed since the last call, for the next request (None: nothing). encode(value) writes a value
        the tests patched in, as any value handed to the program (a function of the tests goes as a handle)."""
        out = {}
        if module_patches.PATCHINGS[0] != self.patchings:
            self.patchings = module_patches.PATCHINGS[0]
            patches = module_patches.since(self.patches_sent, encode)
            if patches:
                out["patches"] = patches
        if _environ() != self.env:  # (the raw mapping: comparing os.environ itself decodes every entry)
            self.env = _environ()
            out["env"] = dict(os.environ)
        context = _decimal_context()
        if context != self.decimal:  # (decimal.localcontext(prec=5) in a test)
            self.decimal = out["decimal"] = context
        if sys.get_int_max_str_digits() != self.digits:  # (sys.set_int_max_str_digits(0) in a test)
            self.digits = out["digits"] = sys.get_int_max_str_digits()
        cwd = _cwd()
        if cwd != self.cwd:
            self.cwd = out["cwd"] = cwd
        if _recursion[0] != self.recursion:
            self.recursion = out["recursion"] = _recursion[0]
        if sys.argv != self.argv:
            self.argv = out["argv"] = [str(a) for a in sys.argv]
        if _seedings[0] != self.seedings or self.rng_sent is not None:  # seeded: one sequence on both sides
            self.seedings = _seedings[0]
            rng = rng_states()
            if rng != self.rng_sent:
                self.rng_sent = rng
                out.update(rng)
        if _level_settings[0] != self.level_settings:
            self.level_settings = _level_settings[0]
            levels = _levels()
            changed = {name: level for name, level in levels.items() if self.levels.get(name, 0) != level}
            self.levels = levels
            if changed:
                out["levels"] = changed
        if self.forward_logs and not self.forwarding:
            self.forwarding = out["logs"] = True
        return out or None



def _decimal_context() -> list:
    context = decimal.getcontext()
    return [context.prec, context.rounding, context.Emin, context.Emax, context.capitals, context.clamp]


def _decode(raw) -> str:
    return raw if type(raw) is str else os.fsdecode(raw)


def _environ() -> dict:
    return dict(getattr(os.environ, "_data", os.environ))


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the directory was removed
        return None


def process_view() -> tuple:
    """In the candidate, around a call (and its import): its working directory, environment, decimal context and
    the digits an int may print, to see what the call changed."""
    return _cwd(), _environ(), _decimal_context(), sys.get_int_max_str_digits()


def process_changes(before: tuple) -> dict | None:
    """What the program changed of its process (`with cd(path):`, a `setenv` helper, `getcontext().prec = 6` at
    import, `sys.set_int_max_str_digits(0)`): it reaches the tests' process too, as in one process (None: nothing)."""
    cwd, env, context, digits = process_view()
    out = {}
    if cwd != before[0] and cwd is not None:
        out["cwd"] = cwd
    if env != before[1]:
        out["env"] = dict(os.environ)
    if context != before[2]:
        out["decimal"] = context
    if digits != before[3]:
        out["digits"] = digits
    return out or None


def take_process_changes(changes, tests_state) -> None:
    """In the judge: the program's changes to its directory and environment, made here too (and not sent back).
    The job's end puts the judge's own back (job_done)."""
    if type(changes) is not dict:
        return
    env = changes.get("env")
    if type(env) is dict and len(env) <= 4096 and all(
            type(k) is str and type(v) is str and len(k) + len(v) <= 65536 and k and "=" not in k and "\0" not in k + v
            for k, v in env.items()):
        os.environ.clear()
        os.environ.update(env)
        tests_state.env = _environ()
    cwd = changes.get("cwd")
    if type(cwd) is str and 0 < len(cwd) <= 4096 and "\0" not in cwd:
        try:
            os.chdir(cwd)
        except OSError:
            pass
        tests_state.cwd = _cwd()
    if _set_decimal_context(changes.get("decimal")):
        tests_state.decimal = _decimal_context()
    if _set_int_digits(changes.get("digits")):
        tests_state.digits = sys.get_int_max_str_digits()


def _set_decimal_context(context) -> bool:
    """Set this thread's decimal context from `context` (_decimal_context's list); whether it was one."""
    if type(context) is not list or len(context) != 6:
        return False
    try:
        current = decimal.getcontext()
        current.prec, current.rounding, current.Emin, current.Emax, current.capitals, current.clamp = context
    except (TypeError, ValueError):
        pass
    return True


def _set_int_digits(digits) -> bool:
    if type(digits) is not int:
        return False
    try:
        sys.set_int_max_str_digits(digits)
    except ValueError:
        pass
    return True


def apply(state: dict, decode) -> None:
    """In the candidate: take the tests' changes (each part on its own; a part that cannot apply is left).
    decode(value) reads a value the tests patched in."""
    for patch in state.get("patches") or ():
        if type(patch) is dict:
            module_patches.apply_patch(patch, decode)
    env = state.get("env")
    if type(env) is dict:
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})
    if type(state.get("cwd")) is str:
        try:
            os.chdir(state["cwd"])
        except OSError:
            pass
    _set_decimal_context(state.get("decimal"))
    _set_int_digits(state.get("digits"))
    if type(state.get("recursion")) is int and state["recursion"] > 0:
        try:
            REAL_SET_RECURSION(state["recursion"])
        except (RecursionError, ValueError, OverflowError):
            pass
    if type(state.get("argv")) is list:
        sys.argv[:] = [str(a) for a in state["argv"]]
    levels = state.get("levels")
    if type(levels) is dict:
        for name, level in levels.items():
            if type(level) is int:
                _REAL_SET_LEVEL(logging.getLogger(str(name) or None), level)
    if state.get("logs") is True and not any(isinstance(h, Forward) for h in logging.getLogger().handlers):
        logging.getLogger().addHandler(Forward())
    if "random" in state:
        set_rng(state)
        _rng_synced[0] = True


def rng_states() -> dict:
    """random's state, and numpy's global generator's when numpy is loaded, as plain data."""
    version, internal, gauss = random.getstate()
    out = {"random": [version, list(internal), gauss]}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        name, keys, pos, has_gauss, cached = numpy.random.get_state()
        out["numpy_random"] = [str(name), [int(k) for k in keys], int(pos), int(has_gauss), float(cached)]
    return out


def set_rng(states: dict) -> None:
    """Set the generators to states of rng_states (from the other side: each part checked, one that is not a state
    is left), without counting as the tests' seeding."""
    numpy, saved = sys.modules.get("numpy"), states.get("numpy_random")
    if numpy is not None and type(saved) is list and len(saved) == 5 and type(saved[1]) is list:
        try:
            (_REAL_NP_SET_STATE[0] or numpy.random.set_state)(
                (str(saved[0]), numpy.array(saved[1], dtype=numpy.uint32), *saved[2:]))
        except (TypeError, ValueError, OverflowError):
            pass
    saved = states.get("random")
    if type(saved) is list and len(saved) == 3 and type(saved[1]) is list:
        try:
            _REAL_SETSTATE((saved[0], tuple(saved[1]), saved[2]))
        except (TypeError, ValueError, OverflowError):
            pass


def rng_before_call():
    """In the candidate: the generators' states before a call once they are one sequence with the tests' (else
    None), and how many seedings this process has seen."""
    return rng_states() if _rng_synced[0] else None, _seedings[0]


def rng_after_call(before):
    """In the candidate: the generators' states after the call, if the program drew from them, or seeded them (a
    `set_seed` helper: from then on they are one sequence with the tests', as when the tests seed); else None."""
    if before is None:
        return None
    states, seedings = before
    if states is None:
        if _seedings[0] == seedings:
            return None
        _rng_synced[0] = True
        return {**rng_states(), "program": True}
    after = rng_states()
    return after if after != states else None
