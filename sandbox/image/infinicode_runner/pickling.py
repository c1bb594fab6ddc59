"""pickle in the judge. A program's object pickles as bytes the program makes, and unpickles by handing them back to
the program (`pickle.loads(pickle.dumps(p)) == p`). What the tests unpickle may only build plain values, the tests'
own classes and the program's objects: bytes the program made (`pickle.loads(cache.dump())`) could otherwise name any
function of the judge's process to call.
"""

from __future__ import annotations

import pickle

from .proxies import TEST_MODULE

_REAL = {"loads": pickle.loads, "load": pickle.load, "Unpickler": pickle.Unpickler}
_CONNECTION = []  # the connection of the job under way (server.py), whose program unpickles its objects

# What an unpickling in the judge may look up by name: value types and this module's program_object.
ALLOWED = {
    "builtins": {"set", "frozenset", "complex", "bytearray", "slice", "range", "list", "dict", "tuple", "int",
                 "float", "str", "bytes", "bool"},
    "collections": {"OrderedDict", "defaultdict", "deque", "Counter"},
    "datetime": {"date", "datetime", "time", "timedelta", "timezone"},
    "decimal": {"Decimal"},
    "fractions": {"Fraction"},
    "uuid": {"UUID"},
    "pathlib": {"PosixPath", "PurePosixPath", "Path", "PurePath"},
    "_codecs": {"encode"},  # bytes pickled with protocol 0 to 2
    "numpy": {"ndarray", "dtype"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    __name__: {"program_object"},
}


class JudgeUnpickler(_REAL["Unpickler"]):
    def find_class(self, module, name):
        if name in ALLOWED.get(module, ()):
            return super().find_class(module, name)
        if module == TEST_MODULE:  # a class of the tests' own (trusted code), never one of their functions
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"the judge does not unpickle {module}.{name}: only values, the tests' classes "
                                     "and the program's objects")


def _loads(data, /, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
    import io

    return JudgeUnpickler(io.BytesIO(data), fix_imports=fix_imports, encoding=encoding, errors=errors,
                          buffers=buffers).load()


def _load(file, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
    return JudgeUnpickler(file, fix_imports=fix_imports, encoding=encoding, errors=errors, buffers=buffers).load()


def install():
    """Once, at the judge's start (the candidate, forked from it, puts the real ones back: restore())."""
    pickle.loads, pickle.load, pickle.Unpickler = _loads, _load, JudgeUnpickler


def restore():
    pickle.loads, pickle.load, pickle.Unpickler = _REAL["loads"], _REAL["load"], _REAL["Unpickler"]


def running(conn):
    _CONNECTION[:] = [conn]


def stopped():
    _CONNECTION.clear()


def reduce_program_object(proxy, protocol):
    """A program object's __reduce_ex__ here: its pickle, made by the program, inside one of ours."""
    conn = proxy._ic_conn
    data = conn.request({"op": "pickle", "t": conn.codec.encode(proxy), "n": int(protocol)})
    if type(data) is not bytes:
        raise pickle.PicklingError("the program did not pickle its object")
    return program_object, (data,)


def program_object(data):
    """Unpickling one of the program's objects: the program unpickles its own bytes, in its process."""
    if not _CONNECTION or type(data) is not bytes:
        raise pickle.UnpicklingError("a program's object unpickles only while its job runs")
    conn = _CONNECTION[0]
    return conn.request({"op": "unpickle", "t": None, "a": [conn.codec.encode(data)]})
