"""Values crossing between the judge, the candidate and the host, as tagged JSON.

This module is shared by all three and imports nothing else of the runner but typing_values.py (annotations)
and numpy_values.py. Decoding never runs code of the sender: it builds fresh objects of exact, well-known types
(builtins, datetime, zoneinfo, decimal, fractions, pathlib, uuid, ipaddress, numpy, typing's annotation forms),
so a value that arrives in the judge is genuine, whatever the candidate did on its side. What cannot cross by
value crosses as a handle, which the receiving side turns into a proxy (see `Codec.hooks`).

Mutable containers handed over as call arguments carry a reference number (`"ref"`), so that after the call the
other side can send back their new contents and the caller updates its own objects in place (`sync`).
"""

from __future__ import annotations

import argparse
import array
import base64
import collections
import datetime
import decimal
import fractions
import ipaddress
import math
import pathlib
import re
import subprocess
import sys
import types
import uuid
from zoneinfo import ZoneInfo

from . import numpy_values, typing_values

# The datetime types this codec builds and recognises, bound once: tests patch datetime.date or datetime.datetime
# to freeze time, in their process and (state.py carries the patch) in the program's, and the codec on either
# side must go on meaning the real ones.
datetime = types.SimpleNamespace(**{name: getattr(datetime, name)
                                    for name in ("date", "datetime", "time", "timedelta", "timezone")})

MAX_DEPTH = 500  # nesting depth of values
_COMPLETED = ("args", "returncode", "stdout", "stderr")

_SEQ = {list: "l", tuple: "t", set: "s", frozenset: "fs"}
_SEQ_BACK = {"l": list, "t": tuple, "s": set, "fs": frozenset}
_DICTS = {dict: "d", collections.Counter: "Counter", collections.OrderedDict: "OrderedDict"}
_MUTABLE = (list, dict, set, bytearray, collections.deque, collections.Counter, collections.OrderedDict,
            collections.defaultdict, array.array)
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network,
             ipaddress.IPv4Interface, ipaddress.IPv6Interface)
_ZONE_RE = re.compile(r"^[A-Za-z0-9_+-]{1,32}(/[A-Za-z0-9_+-]{1,32}){0,3}$")  # an IANA key: Europe/Paris, UTC
_PATHS = {pathlib.PurePosixPath: "PurePosixPath", pathlib.PosixPath: "PosixPath", pathlib.PurePath: "PurePath",
          pathlib.Path: "Path"}
_PATHS_BACK = {"PurePosixPath": pathlib.PurePosixPath, "PurePath": pathlib.PurePosixPath,
               "PosixPath": pathlib.PosixPath, "Path": pathlib.PosixPath}


class Opaque:
    """An object that could not cross by value, recorded as its type and repr (expected outputs of references)."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return self.text or f"<{self.type_name}>"


def is_ndarray(t):
    return t.__name__ == "ndarray" and t.__module__ == "numpy"


def dict_items(obj):
    """The items of a dict (of one of the exact types above) in its own order: an OrderedDict keeps its order in a
    list of its own, which dict's methods neither read nor update (move_to_end changes only that)."""
    return (collections.OrderedDict.items if type(obj) is collections.OrderedDict else dict.items)(obj)


def container_base(t):
    """list, dict or set for a strict subclass of one (the program's `class History(list)`, and the judge's mirror
    of it), whose contents are kept in step between the two sides (kept.py); None otherwise. Not an OrderedDict's
    subclass: its order lives outside the dict's storage, which is what the two sides copy."""
    if t in _MUTABLE or issubclass(t, collections.OrderedDict):
        return None
    return next((b for b in (list, dict, set) if issubclass(t, b)), None)


def plain_contents(obj):
    """A container as its own type's plain copy, read by that type's methods (never a subclass's, which may run
    the program, or on the judge's side call it): what crosses for a subclass of list, dict or set."""
    base = container_base(type(obj))
    if base is dict:  # (dict.copy would call an overridden keys(); the items view reads the storage itself)
        return dict(dict.items(obj))
    return obj if base is None else base.copy(obj)


def is_mutable(obj):
    """Containers whose changes by the callee travel back to the caller."""
    return type(obj) in _MUTABLE or is_ndarray(type(obj))


class Codec:
    """Encoder and decoder for one side. `hooks` turns what is not a value into a handle and back:

    - hooks.out(obj) -> dict | None: the handle (or by-name reference) for obj, or None when it cannot cross;
    - hooks.back(data) -> object: the object for a handle received from the other side.
    The host uses the plain codec (no hooks): only values cross."""

    def __init__(self, hooks=None):
        self.hooks = hooks

    # -- encoding ---------------------------------------------------------------------------------------------
    def encode(self, obj, refs=None):
        """refs: None, or a dict id(obj) -> [number, obj] collecting mutable containers (call arguments)."""
        return self._enc(obj, refs, 0)

    def _enc(self, obj, refs, depth):
        if depth > MAX_DEPTH:
            raise ValueError("value nested too deeply")
        t = type(obj)
        if obj is None or t is bool or t is str:
            return obj
        if t is int:
            return obj if -(2**62) < obj < 2**62 else {"I": hex(obj)}
        if t is float:
            if obj != obj and (obj is math.nan or obj is getattr(sys.modules.get("numpy"), "nan", None)):
                return {"T": ["nan", "math" if obj is math.nan else "numpy"]}  # `[x] == [math.nan]`: by identity
            return {"f": obj.hex()}
        if refs is not None and (t in _MUTABLE or is_ndarray(t)):
            seen = refs.get(id(obj))
            if seen is not None:
                return {"R": seen[0]}
            number = len(refs)
            refs[id(obj)] = [number, obj]
            data = self._enc_plain(obj, t, refs, depth)
            data["ref"] = number
            return data
        return self._enc_plain(obj, t, refs, depth)

    def _enc_plain(self, obj, t, refs, depth):
        d = depth + 1
        tag = _SEQ.get(t)
        if tag is not None:
            return {tag: [self._enc(x, refs, d) for x in obj]}
        tag = _DICTS.get(t)
        if tag is not None:
            items = [[self._enc(k, refs, d), self._enc(v, refs, d)] for k, v in dict_items(obj)]
            return {"d": items} if tag == "d" else {"T": [tag, items]}
        if t is bytes:
            return {"b": base64.b64encode(obj).decode()}
        if t is bytearray:
            return {"ba": base64.b64encode(obj).decode()}
        if t is complex:
            return {"c": [obj.real.hex(), obj.imag.hex()]}
        if t is range:
            return {"T": ["range", [obj.start, obj.stop, obj.step]]}
        if t is array.array:
            return {"T": ["array", [obj.typecode, base64.b64encode(obj.tobytes()).decode()]]}
        if t is collections.deque:
            return {"T": ["deque", [[self._enc(x, refs, d) for x in collections.deque.__iter__(obj)], obj.maxlen]]}
        if t is collections.defaultdict:
            factory = self._enc(obj.default_factory, None, d) if obj.default_factory is not None else None
            items = [[self._enc(k, refs, d), self._enc(v, refs, d)] for k, v in dict.items(obj)]
            return {"T": ["defaultdict", [factory, items]]}
        if t is datetime.date:
            return {"T": ["date", [obj.year, obj.month, obj.day]]}
        if t is datetime.datetime:
            return {"T": ["datetime", [obj.year, obj.month, obj.day, obj.hour, obj.minute, obj.second,
                                       obj.microsecond, obj.fold, self._tz(obj.tzinfo)]]}
        if t is datetime.time:
            return {"T": ["time", [obj.hour, obj.minute, obj.second, obj.microsecond, obj.fold, self._tz(obj.tzinfo)]]}
        if t is datetime.timedelta:
            return {"T": ["timedelta", [obj.days, obj.seconds, obj.microseconds]]}
        if t is datetime.timezone or t is ZoneInfo:
            return {"T": ["timezone", self._tz(obj)]}
        if t is decimal.Decimal:
            return {"T": ["Decimal", str(obj)]}
        if t is fractions.Fraction:
            return {"T": ["Fraction", [self._enc(obj.numerator, None, d), self._enc(obj.denominator, None, d)]]}
        if t in _PATHS:
            return {"T": ["path", [_PATHS[t], str(obj)]]}
        if t is uuid.UUID:
            return {"T": ["uuid", obj.hex]}
        if t is subprocess.CompletedProcess:  # what a fake `subprocess.run` of the tests returns: its values
            return {"T": ["completed", [self._enc(getattr(obj, name), refs, d) for name in _COMPLETED]]}
        if t in _IP_TYPES:
            return {"T": ["ip", [t.__name__, str(obj)]]}
        if t is types.MappingProxyType:  # a read-only view (`MappingProxyType(self._values)`): its items, by value
            return {"T": ["mappingproxy", self._enc(dict(obj), refs, d)]}
        if t is types.SimpleNamespace or t is argparse.Namespace:  # (parse_args' result: the parsed values)
            kind = "namespace" if t is types.SimpleNamespace else "argparse"
            return {"T": [kind, [[k, self._enc(v, refs, d)] for k, v in vars(obj).items() if type(k) is str]]}
        if t is slice:
            return {"T": ["slice", [self._enc(obj.start, None, d), self._enc(obj.stop, None, d),
                                    self._enc(obj.step, None, d)]]}
        if obj is Ellipsis:
            return {"T": ["Ellipsis", None]}
        if obj is type(None):  # (in Optional[int]) no name in builtins finds it
            return {"T": ["NoneType", None]}
        if obj is NotImplemented:
            return {"T": ["NotImplemented", None]}
        if t is type({}.keys()):
            return {"T": ["keys", [self._enc(x, refs, d) for x in obj]]}
        if t is type({}.values()):
            return {"T": ["values", [self._enc(x, refs, d) for x in obj]]}
        if t is type({}.items()):
            return {"T": ["items", [[self._enc(k, refs, d), self._enc(v, refs, d)] for k, v in obj]]}
        if t is Opaque:
            return {"T": ["opaque", [obj.type_name, obj.text]]}
        if t.__module__ in ("typing", "types", "collections.abc"):
            data = typing_values.encode(obj, lambda x: self._enc(x, refs, d))
            if data is not None:
                return {"T": ["hint", data]}
        if t.__module__ in ("numpy", "numpy.dtypes"):
            data = numpy_values.encode(obj, t)
            if data is not None:
                return data
        if self.hooks is not None:
            data = self.hooks.out(obj, refs, depth)
            if data is not None:
                return data
        raise TypeError(f"a {t.__name__} cannot cross the sandbox boundary")

    def _tz(self, tz):
        if tz is None:
            return None
        if type(tz) is ZoneInfo and type(tz.key) is str and _ZONE_RE.match(tz.key):
            return tz.key  # rebuilt from the tz database on the other side
        if type(tz) is not datetime.timezone:
            raise TypeError(f"time zones of type {type(tz).__name__} cannot cross the sandbox boundary")
        off = tz.utcoffset(None)
        name = tz.tzname(None)
        # (timezone equality ignores the name: `IST` is compared with the name an unnamed offset would have)
        return [off.days, off.seconds, off.microseconds, name if name != datetime.timezone(off).tzname(None) else None]

    # -- decoding ---------------------------------------------------------------------------------------------
    def decode(self, data, refs=None):
        """refs: None, or a dict number -> object, filled with the containers that arrived with a reference
        number and consulted for back-references ({"R": n})."""
        return self._dec(data, {} if refs is None else refs, 0)

    def _dec(self, data, refs, depth):
        if depth > MAX_DEPTH:
            raise ValueError("value nested too deeply")
        if data is None or type(data) in (bool, int, str):
            return data
        if type(data) is not dict or not data:
            raise ValueError("malformed value")
        d = depth + 1
        ref = data.get("ref")
        tag, val = next(iter(data.items()))  # the first key is the tag
        if tag == "f":
            return float.fromhex(val)
        if tag == "I":
            return int(val, 16)
        if tag in _SEQ_BACK:
            if type(val) is not list:
                raise ValueError("malformed sequence")
            if ref is not None and tag in ("l", "s"):
                out = _SEQ_BACK[tag]()
                self._remember(refs, ref, out)
                items = [self._dec(x, refs, d) for x in val]
                out.extend(items) if tag == "l" else out.update(items)
                return out
            return _SEQ_BACK[tag](self._dec(x, refs, d) for x in val)
        if tag == "d":
            out = {}
            if ref is not None:
                self._remember(refs, ref, out)
            for k, v in val:
                out[self._dec(k, refs, d)] = self._dec(v, refs, d)
            return out
        if tag == "R":
            if refs is None or type(val) is not int or val not in refs:
                raise ValueError("malformed reference")
            return refs[val]
        if tag == "b":
            return base64.b64decode(val)
        if tag == "ba":
            out = bytearray(base64.b64decode(val))
            if ref is not None:
                self._remember(refs, ref, out)
            return out
        if tag == "c":
            return complex(float.fromhex(val[0]), float.fromhex(val[1]))
        if tag == "T":
            out = self._dec_typed(val, refs, d)
            if ref is not None:
                self._remember(refs, ref, out)
            return out
        if tag == "np":
            out = numpy_values.decode_array(val)
            if ref is not None:
                self._remember(refs, ref, out)
            return out
        if tag == "ns":
            return numpy_values.decode_scalar(val)
        if self.hooks is not None:
            return self.hooks.back(data, refs, d)
        raise ValueError(f"unknown value tag {tag!r}")

    def _remember(self, refs, ref, obj):
        if refs is None or type(ref) is not int:
            raise ValueError("malformed reference")
        refs[ref] = obj

    def _dec_typed(self, val, refs, d):
        if type(val) is not list or len(val) != 2 or type(val[0]) is not str:
            raise ValueError("malformed typed value")
        name, arg = val
        dec = self._dec
        if name in ("Counter", "OrderedDict"):
            cls = collections.Counter if name == "Counter" else collections.OrderedDict
            out = cls()
            for k, v in arg:
                cls.__setitem__(out, dec(k, refs, d), dec(v, refs, d))
            return out
        if name == "defaultdict":
            factory, items = arg
            factory = dec(factory, refs, d) if factory is not None else None
            if factory is not None and not callable(factory):
                raise ValueError("malformed defaultdict")
            out = collections.defaultdict(factory)
            for k, v in items:
                out[dec(k, refs, d)] = dec(v, refs, d)
            return out
        if name == "array":
            typecode, raw = str(arg[0]), base64.b64decode(str(arg[1]), validate=True)
            if typecode not in array.typecodes:
                raise ValueError("malformed array")
            out = array.array(typecode)
            out.frombytes(raw)
            return out
        if name == "deque":
            items, maxlen = arg
            return collections.deque((dec(x, refs, d) for x in items), maxlen)
        if name == "range":
            return range(*[int(x) for x in arg])
        if name == "date":
            return datetime.date(*[int(x) for x in arg])
        if name == "datetime":
            *parts, fold, tz = arg
            return datetime.datetime(*[int(x) for x in parts], tzinfo=self._dec_tz(tz), fold=int(fold))
        if name == "time":
            *parts, fold, tz = arg
            return datetime.time(*[int(x) for x in parts], tzinfo=self._dec_tz(tz), fold=int(fold))
        if name == "timedelta":
            return datetime.timedelta(days=int(arg[0]), seconds=int(arg[1]), microseconds=int(arg[2]))
        if name == "timezone":
            return self._dec_tz(arg)
        if name == "Decimal":
            return decimal.Decimal(str(arg))
        if name == "Fraction":
            return fractions.Fraction(int(dec(arg[0], None, d)), int(dec(arg[1], None, d)))
        if name == "path":
            return _PATHS_BACK[str(arg[0])](str(arg[1]))
        if name == "completed":
            if type(arg) is not list or len(arg) != len(_COMPLETED):
                raise ValueError("malformed CompletedProcess")
            return subprocess.CompletedProcess(*[dec(x, refs, d) for x in arg])
        if name == "uuid":
            if type(arg) is not str or len(arg) != 32:
                raise ValueError("malformed UUID")
            return uuid.UUID(hex=arg)
        if name == "ip":
            kind = next(k for k in _IP_TYPES if k.__name__ == str(arg[0]))
            return kind(str(arg[1])[:100])
        if name == "mappingproxy":
            items = dec(arg, refs, d)
            if type(items) is not dict:
                raise ValueError("malformed mappingproxy")
            return types.MappingProxyType(items)
        if name in ("namespace", "argparse"):
            values = {str(k): dec(v, refs, d) for k, v in arg}
            return types.SimpleNamespace(**values) if name == "namespace" else argparse.Namespace(**values)
        if name == "slice":
            return slice(*[dec(x, None, d) for x in arg])
        if name == "hint":
            return typing_values.decode(arg[0], arg[1], lambda x: dec(x, refs, d))
        if name == "Ellipsis":
            return Ellipsis
        if name == "NoneType":
            return type(None)
        if name == "dtype":
            return numpy_values.dtype(arg)
        if name == "nan":
            return math.nan if arg == "math" else numpy_values.numpy().nan
        if name == "NotImplemented":
            return NotImplemented
        if name == "keys":
            return {dec(x, refs, d): None for x in arg}.keys()
        if name == "values":
            return dict(enumerate(dec(x, refs, d) for x in arg)).values()
        if name == "items":
            return {dec(k, refs, d): dec(v, refs, d) for k, v in arg}.items()
        if name == "opaque":
            return Opaque(str(arg[0])[:100], str(arg[1])[:400])
        raise ValueError(f"unknown value type {name!r}")

    def _dec_tz(self, tz):
        if tz is None:
            return None
        if type(tz) is str:
            if not _ZONE_RE.match(tz):
                raise ValueError("malformed time zone")
            return ZoneInfo(tz)
        days, seconds, micros, name = tz
        off = datetime.timedelta(days=int(days), seconds=int(seconds), microseconds=int(micros))
        return datetime.timezone(off, str(name)) if name is not None else datetime.timezone(off)


def encode_contents(codec, obj, refs):
    """The contents of a container that the other side holds a reference to (nested ones as references)."""
    obj = plain_contents(obj)
    return codec._enc_plain(obj, type(obj), refs, 0)


PLAIN = Codec()


def encode_value(obj):
    """Plain data only (the host's view): raises TypeError for anything that is not a value."""
    return PLAIN.encode(obj)


def decode_value(data):
    return PLAIN.decode(data)
