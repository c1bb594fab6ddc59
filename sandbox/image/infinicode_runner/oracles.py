"""How an output is compared with the expected one, in the judge (input/output and stdin/stdout tests).

Both sides are genuine values here (or proxies, which never equal a value): nothing of the candidate decides.
"""

from __future__ import annotations

import math

from .codec import Opaque


def _close(a, b, atol):
    if type(a) is bool or type(b) is bool:
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or abs(a - b) <= atol or (a != a and b != b)
    return False


def _has_float(v):
    if type(v) is float:
        return True
    if type(v) in (list, tuple):
        return any(_has_float(x) for x in v)
    return False


def values_equal(got, want, atol):
    """Equality, with floats (also inside lists and tuples) within atol."""
    if type(got) is float or type(want) is float:
        return _close(got, want, atol)
    if type(want) in (list, tuple) and type(got) is type(want):
        return len(got) == len(want) and all(values_equal(x, y, atol) for x, y in zip(got, want, strict=False))
    if isinstance(want, Opaque):
        return False
    return got == want


# ---------------------------------------------------------------- EvalPlus's rules (MBPP+)
#
# As EvalPlus v0.3.1 judges MBPP+ (evalplus/eval/__init__.py: unsafe_execute; evalplus/eval/_special_oracle.py).
# benchmarks/mbppplus.py picks the oracle of each task and shapes `want` for it; its comment cites the sources.

EVALPLUS_RTOL = 1e-07  # what EvalPlus passes to np.allclose (np.testing.assert_allclose's default)
EVALPLUS_FLOAT_ATOL = 1e-06  # the atol EvalPlus enforces when a task's atol is 0 and the expected output is floats
_NUMBERS = (int, float, bool)
_COLLECTIONS = (list, tuple, set, frozenset)


def _evalplus_floats(value) -> bool:
    """EvalPlus's is_floats: a float, or a non-empty list or tuple holding floats only (not nested)."""
    if type(value) is float:
        return True
    return type(value) in (list, tuple) and bool(value) and all(type(x) is float for x in value)


def _allclose(got, want, atol: float) -> bool:
    """np.allclose(got, want, rtol=1e-07, atol) on numbers and equally long (nested) lists/tuples of numbers.
    Anything else makes numpy raise, which EvalPlus counts as a failure."""
    if type(got) in _NUMBERS and type(want) in _NUMBERS:
        if math.isinf(got) or math.isinf(want):
            return got == want
        return abs(got - want) <= atol + EVALPLUS_RTOL * abs(want)  # False with a NaN, as equal_nan=False
    if type(got) in (list, tuple) and type(want) in (list, tuple):
        return len(got) == len(want) and all(_allclose(g, w, atol) for g, w in zip(got, want, strict=False))
    return False


def _evalplus_close(got, want, atol: float) -> bool:
    """EvalPlus's second chance for an output that is not equal: the same type (and length), then np.allclose."""
    if atol == 0 and _evalplus_floats(want):
        atol = EVALPLUS_FLOAT_ATOL
    if atol == 0 or type(got) is not type(want):
        return False
    if type(want) in (list, tuple) and len(got) != len(want):
        return False
    return _allclose(got, want, atol)


def _equal(got, want) -> bool:
    return not isinstance(want, Opaque) and got == want


def evalplus(got, want, atol: float) -> bool:
    """EvalPlus's default: equal, or close as np.allclose says."""
    return _equal(got, want) or _evalplus_close(got, want, atol)


def evalplus_set(got, want, atol: float) -> bool:
    """set(out) == set(exp): order and repeats do not matter (then the float second chance)."""
    if type(got) in _COLLECTIONS and type(want) in _COLLECTIONS:
        try:
            if set(got) == set(want):
                return True
        except TypeError:  # unhashable items: set() raises in EvalPlus too
            return False
    return _evalplus_close(got, want, atol)


def evalplus_not_none(got, want, atol: float) -> bool:
    """`want` says whether the reference returned something other than None; a bool output is compared with it."""
    if type(got) is bool:
        return got == want
    return (got is not None) == want


def evalplus_one_of(got, want, atol: float) -> bool:
    """`want` is [the reference's output, other outputs EvalPlus accepts on this input (its own formulas)]."""
    reference, *others = want
    for other in others:
        if _equal(got, other) or (type(got) in _NUMBERS and type(other) in _NUMBERS and abs(got - other) <= atol):
            return True
    return evalplus(got, reference, atol)


ORACLES = {"evalplus": evalplus, "evalplus_set": evalplus_set, "evalplus_not_none": evalplus_not_none,
           "evalplus_one_of": evalplus_one_of, "any": lambda got, want, atol: True}


def output_matches(got, want, atol, oracle="eq"):
    if oracle in ORACLES:
        return ORACLES[oracle](got, want, atol)
    if oracle == "not_none":
        return got is not None
    if oracle == "set":
        try:
            return set(got) == set(want)
        except TypeError:
            return False
    tol = atol if atol or not _has_float(want) else 1e-6
    return values_equal(got, want, tol)


def _number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def stdout_matches(got: str, want: str, compare: str = "whitespace", atol: float = 0.0, rtol: float = 0.0) -> bool:
    """exact: byte for byte; whitespace: the same tokens; tokens: the same tokens, numbers within atol/rtol."""
    if compare == "exact":
        return got == want
    got_tokens, want_tokens = got.split(), want.split()
    if compare == "whitespace" or len(got_tokens) != len(want_tokens):
        return got_tokens == want_tokens
    for g, w in zip(got_tokens, want_tokens, strict=False):
        if g == w:
            continue
        gv, wv = _number(g), _number(w)
        if gv is None or wv is None or abs(gv - wv) > atol + rtol * abs(wv):
            return False
    return True
