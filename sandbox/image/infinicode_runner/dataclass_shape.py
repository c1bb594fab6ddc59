"""A dataclass's shape across the boundary: the side that has the class describes its fields (names and flags), the
other side gives its stand-in `__dataclass_fields__`, `__dataclass_params__` and `__match_args__`, so that
dataclasses.fields, asdict, astuple, replace, is_dataclass and `case Point(x, y)` work there. Every value is still
read from the side that has the object, by name."""

from __future__ import annotations

import dataclasses
import keyword


def describe_dataclass(cls) -> dict | None:
    """The fields of a dataclass (or of a class deriving from one) as names and flags; None for any other class."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not dataclasses.is_dataclass(cls):
        return None
    return {"fields": [[str(f.name), bool(f.init), bool(f.repr), bool(f.compare)] for f in dataclasses.fields(cls)],
            "frozen": bool(params.frozen)}


def dataclass_members(desc: dict) -> dict:
    """`__dataclass_fields__`, `__dataclass_params__` and `__match_args__` for the stand-in of a dataclass of the other
    side, from the names and flags described (`desc["dataclass"]`, `desc["match_args"]`). A malformed description
    gives none of them."""
    def names_ok(names):
        return type(names) is list and len(names) <= 256 and all(
            type(n) is str and n.isidentifier() and not keyword.iskeyword(n) for n in names)

    members = {}
    spec = desc.get("dataclass")
    fields = spec.get("fields") if type(spec) is dict else None
    if type(fields) is list and all(type(f) is list and len(f) == 4 for f in fields) \
            and names_ok([f[0] for f in fields]) and all(type(x) is bool for f in fields for x in f[1:]):
        try:
            made = dataclasses.make_dataclass(
                "mirror", [(f[0], object, dataclasses.field(init=f[1], repr=f[2], compare=f[3])) for f in fields],
                eq=False, frozen=spec.get("frozen") is True)
            members.update(__dataclass_fields__=made.__dataclass_fields__,
                           __dataclass_params__=made.__dataclass_params__)
        except (TypeError, ValueError):  # repeated names and the like: not a dataclass here
            pass
    if names_ok(desc.get("match_args")):
        members["__match_args__"] = tuple(desc["match_args"])
    return members
