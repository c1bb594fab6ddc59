"""numpy values on the wire (codec.py): arrays, scalars and dtypes cross as bytes with their dtype text.

Object, void and structured dtypes never cross: they would carry arbitrary objects. numpy is imported only when
a numpy value is met, so a job that never uses it does not pay for the import."""

from __future__ import annotations

import base64
import re

_DTYPE_RE = re.compile(r"^[<>|=]?[?bBhHiIlLqQpPefdgFDGSUmMuc]\d*(\[[a-zA-Z0-9]+\])?$")  # dtype.str
_scalar_types = None


def numpy():
    import numpy
    return numpy


def _scalars():
    global _scalar_types
    if _scalar_types is None:
        np = numpy()
        _scalar_types = {t for t in np.sctypeDict.values() if issubclass(t, np.generic) and t is not np.object_}
    return _scalar_types


def encode(obj, t):
    """The wire form of a numpy value of type t, or None when obj is not one that crosses."""
    np = numpy()
    if t is np.ndarray:
        if obj.dtype.kind in "OV" or obj.dtype.names is not None:
            return None
        data = base64.b64encode(np.ascontiguousarray(obj).tobytes()).decode()
        return {"np": [obj.dtype.str, list(obj.shape), data]}
    if isinstance(obj, np.dtype):  # `a.dtype == np.float32`: a dtype is a value (never an object or record one)
        return {"T": ["dtype", obj.str]} if obj.kind not in "OV" and obj.names is None else None
    if t in _scalars() and obj.dtype.kind not in "OV":
        return {"ns": [obj.dtype.str, base64.b64encode(obj.tobytes()).decode()]}
    return None


def dtype(text):
    if type(text) is not str or not _DTYPE_RE.match(text):
        raise ValueError("malformed numpy dtype")
    out = numpy().dtype(text)
    if out.kind in "OV":
        raise ValueError("object arrays cannot cross the sandbox boundary")
    return out


def decode_scalar(val):
    kind = dtype(val[0])
    raw = base64.b64decode(val[1])
    if len(raw) != kind.itemsize:
        raise ValueError("malformed numpy scalar")
    return numpy().frombuffer(raw, dtype=kind)[0]


def decode_array(val):
    dtype_text, shape, payload = val
    kind = dtype(dtype_text)
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 32:
        raise ValueError("malformed numpy shape")
    raw = base64.b64decode(payload)
    count = 1
    for n in shape:
        count *= n
    if count * kind.itemsize != len(raw):
        raise ValueError("numpy data does not match its shape")
    return numpy().frombuffer(raw, dtype=kind).reshape(shape).copy()
