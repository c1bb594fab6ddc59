"""inspect.signature across the boundary, both ways: the side that has the function or class sends its parameters
as data (each default and annotation encoded like any value), the other side rebuilds an inspect.Signature. The
program's dependency-injection container reads the tests' constructors; the tests read the program's functions."""

from __future__ import annotations

import inspect


def signature_data(target) -> list:
    """An annotation goes as [value], none as None (so `-> None` stays an annotation)."""
    sig = inspect.signature(target)
    return [[[p.name, int(p.kind), p.default is not p.empty, None if p.default is p.empty else p.default,
              None if p.annotation is p.empty else [p.annotation]] for p in sig.parameters.values()],
            None if sig.return_annotation is sig.empty else [sig.return_annotation]]


def _annotation(data):
    if data is None:
        return inspect.Parameter.empty
    if type(data) is not list or len(data) != 1:
        raise ValueError("malformed annotation")
    return data[0]


def signature_from_data(data) -> inspect.Signature:
    """The signature `signature_data` described; AttributeError (inspect then looks further) when malformed."""
    try:
        params, returns = data
        empty = inspect.Parameter.empty
        return inspect.Signature(
            [inspect.Parameter(name, inspect._ParameterKind(kind), default=default if has_default else empty,
                               annotation=_annotation(annotation))
             for name, kind, has_default, default, annotation in params],
            return_annotation=_annotation(returns))
    except (TypeError, ValueError):
        raise AttributeError("__signature__") from None
