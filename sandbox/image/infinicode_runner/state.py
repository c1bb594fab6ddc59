"""Process state the tests set and the program reads, carried from the judge to the candidate, and the program's
log records, carried back.

In one process, a test that calls `monkeypatch.setenv`, `monkeypatch.chdir`, sets `sys.argv`, seeds `random` or
sets a logger's level changes what the code under test sees. Here the tests run in the judge and the program in
its own process, so before a request the judge sends what changed since the candidate was forked
(`TestsState.changes`) and the candidate applies it (`apply`). `random` and numpy's global generator are carried
when the tests seed them (random.seed / setstate, numpy.random.seed / set_state), not as the tests draw numbers.
Of what the program does to its process, only its log records come back, for pytest's caplog (`log_again`): each
is a name, a level and a message, which the program could as well have logged in one process.
"""

from __future__ import annotations

import logging
import os
import random
import sys

_REAL_SETSTATE = random.setstate
_REAL_SET_LEVEL = logging.Logger.setLevel
_seedings = [0]  # seedings of random or numpy's global generator in this process
_level_settings = [0]  # Logger.setLevel calls in this process
MAX_RECORDS = 200  # log records one reply carries
MAX_JOB_RECORDS = 10_000  # ... and one job
LOGGED: list = []  # in the candidate: the records of the request being served


def _set_level(logger, level):
    _REAL_SET_LEVEL(logger, level)
    _level_settings[0] += 1


def _counting(fn):
    def counted(*args, **kwargs):
        result = fn(*args, **kwargs)
        _seedings[0] += 1
        return result
    return counted


def install() -> None:
    """Count the seedings of `random` and numpy's global generator, and the setting of log levels (once, in the
    judge, before the tests load)."""
    random.seed, random.setstate = _counting(random.seed), _counting(random.setstate)
    logging.Logger.setLevel = _set_level
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed, numpy.random.set_state = _counting(numpy.random.seed), _counting(numpy.random.set_state)


def _levels() -> dict:
    loggers = [("", logging.getLogger())] + [(name, logger) for name, logger in
                                             logging.Logger.manager.loggerDict.items()
                                             if isinstance(logger, logging.Logger)]
    return {name: logger.level for name, logger in loggers}


class TestsState:
    """The judge's environment, working directory, argv, seedings and log levels, as the candidate last saw them."""

    def __init__(self):  # made when the candidate is forked: it has the same state
        self.env, self.cwd, self.argv, self.seedings = dict(os.environ), _cwd(), list(sys.argv), _seedings[0]
        self.level_settings, self.levels = _level_settings[0], _levels()
        self.forward_logs = False  # set by the judge for pytest's forms: the program's records come back
        self.forwarding = False
        self.records_left = MAX_JOB_RECORDS

    def changes(self) -> dict | None:
        """What changed since the last call, for the next request (None: nothing)."""
        out = {}
        if os.environ != self.env:
            self.env = out["env"] = dict(os.environ)
        cwd = _cwd()
        if cwd != self.cwd:
            self.cwd = out["cwd"] = cwd
        if sys.argv != self.argv:
            self.argv = out["argv"] = [str(a) for a in sys.argv]
        if _seedings[0] != self.seedings:
            self.seedings = _seedings[0]
            version, internal, gauss = random.getstate()
            out["random"] = [version, list(internal), gauss]
            numpy = sys.modules.get("numpy")
            if numpy is not None:
                name, keys, pos, has_gauss, cached = numpy.random.get_state()
                out["numpy_random"] = [str(name), [int(k) for k in keys], int(pos), int(has_gauss), float(cached)]
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


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the directory was removed
        return None


def apply(state: dict) -> None:
    """In the candidate: take the tests' changes (each part on its own; a part that cannot apply is left)."""
    env = state.get("env")
    if type(env) is dict:
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})
    if type(state.get("cwd")) is str:
        try:
            os.chdir(state["cwd"])
        except OSError:
            pass
    if type(state.get("argv")) is list:
        sys.argv[:] = [str(a) for a in state["argv"]]
    levels = state.get("levels")
    if type(levels) is dict:
        for name, level in levels.items():
            if type(level) is int:
                _REAL_SET_LEVEL(logging.getLogger(str(name) or None), level)
    if state.get("logs") is True and not any(isinstance(h, _Forward) for h in logging.getLogger().handlers):
        logging.getLogger().addHandler(_Forward())
    numpy, saved = sys.modules.get("numpy"), state.get("numpy_random")
    if numpy is not None and type(saved) is list and len(saved) == 5 and type(saved[1]) is list:
        try:
            numpy.random.set_state((saved[0], numpy.array(saved[1], dtype=numpy.uint32), *saved[2:]))
        except (TypeError, ValueError, OverflowError):
            pass
    saved = state.get("random")
    if type(saved) is list and len(saved) == 3 and type(saved[1]) is list:
        try:
            _REAL_SETSTATE((saved[0], tuple(saved[1]), saved[2]))
        except (TypeError, ValueError, OverflowError):
            pass


class _Forward(logging.Handler):
    """In the candidate: keeps each record that reaches the root logger for the reply."""

    def emit(self, record):
        if len(LOGGED) < MAX_RECORDS:
            LOGGED.append([str(record.name)[:200], int(record.levelno), str(record.getMessage())[:2000]])


def log_again(record) -> None:
    """In the judge: a record the program logged, handled as the tests' logging would have (caplog sees it). The
    logger that decides is the nearest one the tests' process has: no logger is made for a name the program sent."""
    if type(record) is not list or len(record) != 3 or type(record[0]) is not str or type(record[1]) is not int \
            or type(record[2]) is not str:
        return
    name, level, message = record[0][:200], record[1], record[2][:2000]
    logger, parts = logging.getLogger(), name.split(".")
    for end in range(len(parts), 0, -1):
        found = logging.Logger.manager.loggerDict.get(".".join(parts[:end]))
        if isinstance(found, logging.Logger):
            logger = found
            break
    if logger.isEnabledFor(level):
        logger.handle(logging.LogRecord(name, level, "solution.py", 0, message, None, None))
