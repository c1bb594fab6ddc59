"""Process state the tests set and the program reads, carried from the judge to the candidate.

In one process, a test that calls `monkeypatch.setenv`, `monkeypatch.chdir`, sets `sys.argv` or seeds `random`
changes what the code under test sees. Here the tests run in the judge and the program in its own process, so
before a request the judge sends what changed since the candidate was forked (`TestsState.changes`) and the
candidate applies it (`apply`). Only the judge's state goes to the candidate: nothing the program does to its own
process comes back. `random` is carried when the tests seed it (random.seed, random.setstate), not as the tests
draw numbers from it.
"""

from __future__ import annotations

import os
import random
import sys

_REAL_SEED, _REAL_SETSTATE = random.seed, random.setstate
_seedings = [0]  # random.seed / random.setstate calls in this process


def _seed(*args, **kwargs):
    _REAL_SEED(*args, **kwargs)
    _seedings[0] += 1


def _setstate(state):
    _REAL_SETSTATE(state)
    _seedings[0] += 1


def install() -> None:
    """Count the seedings of `random` (once, in the judge, before the tests load)."""
    random.seed, random.setstate = _seed, _setstate


class TestsState:
    """The judge's environment, working directory, argv and random seedings, as the candidate last saw them."""

    def __init__(self):  # made when the candidate is forked: it has the same state
        self.env, self.cwd, self.argv, self.seedings = dict(os.environ), _cwd(), list(sys.argv), _seedings[0]

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
    saved = state.get("random")
    if type(saved) is list and len(saved) == 3 and type(saved[1]) is list:
        try:
            _REAL_SETSTATE((saved[0], tuple(saved[1]), saved[2]))
        except (TypeError, ValueError, OverflowError):
            pass
