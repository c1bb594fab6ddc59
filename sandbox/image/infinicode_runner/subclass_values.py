"""The plain value inside an object of a subclass of a value type: the program's `class Slug(str)` or IntEnum
member (which the judge's mirror holds), and a test's frozen-clock date subclass (which crosses as the date it
stands for). Shared by the judge and the candidate.
"""

from __future__ import annotations

import decimal
import fractions

from .codec import datetime  # the real datetime types, bound once (tests may patch the module's)

# Immutable value types a program's class may derive from (`class Name(str)`, an IntEnum or StrEnum): an object of
# such a class crosses as a handle that also carries the value inside it, which can never change; the judge's mirror
# of the class derives from the same type and holds that value, so `isinstance(x, str)`, `json.dumps(x)` and
# `"a" + x` work as in one process, while methods and operators still go to the program.
IMMUTABLE_BASES = {t.__name__: t for t in (int, float, complex, str, bytes, tuple, frozenset, decimal.Decimal,
                                           fractions.Fraction, datetime.datetime, datetime.date, datetime.time,
                                           datetime.timedelta)}


def immutable_base(cls):
    """The immutable value type a class derives from (the nearest in its MRO), or None."""
    return next((b for b in cls.__mro__ if IMMUTABLE_BASES.get(b.__name__) is b), None)


def value_inside(obj, base):
    """The plain value an object of a subclass of `base` holds, read by the base type's own methods (never the
    subclass's __str__ or __int__, which may say something else)."""
    if base is frozenset:
        return frozenset(frozenset.__iter__(obj))
    if base in (int, float, complex, str, bytes, tuple):
        return base(*base.__getnewargs__(obj))
    return base(*base.__reduce__(obj)[1])  # the datetime types, Decimal and Fraction, from their pickled state


def with_value(cls, base, value):
    """An object of `cls`, a subclass of `base`, holding `value` (of exactly `base`), made without calling any
    __init__ or __new__ of cls."""
    if base in (datetime.date, datetime.datetime, datetime.time, datetime.timedelta, decimal.Decimal,
                fractions.Fraction):
        return base.__new__(cls, *base.__reduce__(value)[1])
    return base.__new__(cls, value)


def plain_datetime(obj):
    """An object of a subclass of date, datetime, time or timedelta (a test's frozen clock) as the plain value it
    stands for; None for anything else."""
    if isinstance(obj, datetime.datetime):  # first: a datetime is a date
        return datetime.datetime(obj.year, obj.month, obj.day, obj.hour, obj.minute, obj.second, obj.microsecond,
                                 obj.tzinfo, fold=obj.fold)
    if isinstance(obj, datetime.date):
        return datetime.date(obj.year, obj.month, obj.day)
    if isinstance(obj, datetime.time):
        return datetime.time(obj.hour, obj.minute, obj.second, obj.microsecond, obj.tzinfo, fold=obj.fold)
    if isinstance(obj, datetime.timedelta):
        return datetime.timedelta(obj.days, obj.seconds, obj.microseconds)
    return None
