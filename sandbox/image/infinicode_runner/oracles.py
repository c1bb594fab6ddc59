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
        return len(got) == len(want) and all(values_equal(x, y, atol) for x, y in zip(got, want))
    if isinstance(want, Opaque):
        return False
    return got == want


def output_matches(got, want, atol, oracle="eq"):
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
    for g, w in zip(got_tokens, want_tokens):
        if g == w:
            continue
        gv, wv = _number(g), _number(w)
        if gv is None or wv is None or abs(gv - wv) > atol + rtol * abs(wv):
            return False
    return True
