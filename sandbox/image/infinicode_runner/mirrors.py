"""The judge's classes for the program's classes (mirrors), built from the descriptions the candidate sends
(describe.py), and the objects of those classes: part of the connection (remote.py), kept apart for size.
"""

from __future__ import annotations

import abc
import builtins
import collections
import collections.abc
import inspect
import linecache
import logging
import sys
import types

from . import codec as wire
from . import in_place, subclass_values
from .dataclass_shape import dataclass_members
from .kept import MAX_KEPT
from .library_names import library_exception
from .proxies import (
    DUNDER_OPS,
    GENUINE_TYPES,
    UNSAFE_EXCEPTIONS,
    CandidateError,
    CandidateGone,
    RemoteClass,
    RemoteContainerClass,
    RemoteException,
    RemoteMember,
    RemoteObject,
    forwarder,
    is_proxy,
    mirrored_name,
)
from .signatures import signature_from_data

# The program's subclasses of these carry their contents, kept in step (kept.py); filled by the type's own method.
CONTAINER_BASES = {"list": list, "dict": dict, "set": set}
CONTAINER_FILL = {list: list.extend, dict: dict.update, set: set.update}
_NOTHING = (lambda: None).__code__  # what `code` copies: never run
_PLAIN = wire.Codec()
_CLASS_DATA = ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__annotations__")
_ADOPTABLE = (types.FunctionType, int, float, str, bool, tuple, type(None))  # what a test class may give the program

# Objects of these libraries' classes stay in the program (they hold its functions, its iteration state, its
# threads): to the tests' isinstance they are of the library's class (never to type(), nor to the judge itself).
_LIBRARY_MODULES = {"functools", "collections", "re", "itertools", "queue", "threading", "io", "_io", "contextlib",
                    "types", "weakref", "asyncio", "concurrent.futures", "array", "heapq", "operator", "string",
                    "random", "configparser", "xml.etree.ElementTree", "ast", "logging", "argparse", "json", "csv",
                    "sqlite3", "statistics", "textwrap", "struct", "difflib", "email.message", "calendar", "shlex",
                    "zipfile", "tarfile", "gzip", "tempfile", "decimal", "html.parser", "numpy.random._generator",
                    "numpy.random.mtrand", "numpy.random.bit_generator", "numpy.random._pcg64"}
_ITERATOR_CLASSES = (map, filter, enumerate, zip, reversed, types.MappingProxyType)
_VALUE_CLASSES = (BaseException, bool, int, float, complex, str, bytes, bytearray, tuple, list, dict, set, frozenset)


def tests_logger(program_logger):
    """The tests' logger of a program logger's name: the program's records are logged again there (log_records.py)."""
    name = program_logger._ic_conn.get(program_logger, "name")
    return logging.getLogger(None if name == "root" or type(name) is not str else name[:200])


def _add_handler(logger, handler):
    """`solution.logger.addHandler(h)` with a handler of the tests: on their logger of that name, which the program's
    records reach; one of the program's goes to the program's logger."""
    if is_proxy(handler):
        return logger._ic_conn.callm(logger, "addHandler", (handler,))
    return tests_logger(logger).addHandler(handler)


def _remove_handler(logger, handler):
    if is_proxy(handler):
        return logger._ic_conn.callm(logger, "removeHandler", (handler,))
    return tests_logger(logger).removeHandler(handler)


LOGGER_METHODS = {"addHandler": _add_handler, "removeHandler": _remove_handler}


class ObjectDoc:
    """A mirror class's `__doc__`: the class's docstring, and an object's own where it has one (what
    functools.update_wrapper gives a class-based decorator or an lru_cache, a property's, a function's)."""

    def __init__(self, doc):
        self.doc = doc

    def __get__(self, obj, cls=None):
        if obj is None:
            return self.doc
        doc = obj._ic_conn.get(obj, "__doc__")
        return doc if type(doc) is str or doc is None else self.doc


def _library_class(module, qualname):
    """The judge's own class a program object's class is, for the classes above; None for any other."""
    if module == "builtins":
        return next((c for c in _ITERATOR_CLASSES if c.__qualname__ == qualname), None)
    if module not in _LIBRARY_MODULES and module.split(".")[0] not in ("asyncio", "concurrent") \
            or module not in sys.modules:
        return None
    found = sys.modules[module]
    for part in qualname.split("."):
        found = getattr(found, part, None) if not part.startswith("_") else None
    if not isinstance(found, type) or found.__module__ != module or issubclass(found, _VALUE_CLASSES):
        return None
    return found  # a library exception's own values cross without handles
_KIND_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE


class Mirrors:
    """Mixed into Connection: mirror classes, the proxies of their objects, test classes deriving from them."""

    def mirror(self, key):
        """The judge-side class for a candidate class (a description the first time, then its id)."""
        if type(key) is int:
            if key not in self.classes:
                raise ValueError("unknown class")
            return self.classes[key]
        if type(key) is not dict or type(key.get("id")) is not int:
            raise ValueError("malformed class")
        if key["id"] in self.classes:
            return self.classes[key["id"]]
        cls = self._build_mirror(key)
        self.classes[key["id"]] = cls
        return cls

    def _build_mirror(self, desc):
        name, module = str(desc.get("name", "object"))[:100], str(desc.get("module", ""))[:100]
        # the bases first, even of a class that is the judge's own (below): the candidate describes each class once,
        # and names it by its id alone from then on
        bases = [self.mirror(b) for b in desc.get("bases", [])]
        if module == "builtins":
            genuine = getattr(builtins, name, None)
            if isinstance(genuine, type) and (name in GENUINE_TYPES or (
                    issubclass(genuine, BaseException) and name not in UNSAFE_EXCEPTIONS)):
                return genuine
        genuine = library_exception(module, str(desc.get("qualname", name)))
        if genuine is not None:
            return genuine
        bases = [b for b in bases if isinstance(b, RemoteClass) or issubclass(b, BaseException)]
        bases = [b for b in bases if not (issubclass(b, BaseException) and b.__name__ in UNSAFE_EXCEPTIONS)]
        ns = {"_ic_desc": desc, "_ic_hid": desc["id"], "_ic_conn": self, "__module__": module,
              "__qualname__": str(desc.get("qualname", name))[:200],
              "__doc__": ObjectDoc(desc.get("doc") if type(desc.get("doc")) is str else None)}
        if name in ("function", "method", "builtin_function_or_method"):  # each one has its own module
            ns["__module__"] = property(lambda self: self._ic_conn.get(self, "__module__"))
        local = set(dir(BaseException)) | set(dir(tuple)) | {"_asdict", "_replace", "_make", "_fields",
                                                                  "_field_defaults"}
        for member in desc.get("methods", ()):
            if type(member) is str and mirrored_name(member) and member not in local and not member.startswith("__"):
                ns[member] = RemoteMember(member)
        for dunder in desc.get("dunders", ()):
            if dunder in DUNDER_OPS:
                ns[dunder] = forwarder(dunder)
        ns.update(dataclass_members(desc))
        if name == "function" and module == "builtins":
            # a function to inspect.isfunction and to mock's autospec (which then copies its signature); the
            # judge itself tells proxies by their type (is_proxy), never by isinstance
            ns["__class__"] = property(lambda self: types.FunctionType)
            # and a method, in a class of the tests (`@logged def hello(self, name)`, the program's decorator)
            ns["__get__"] = lambda self, obj, owner=None: self if obj is None else types.MethodType(self, obj)
        library = _library_class(module, ns["__qualname__"])
        if library is not None:  # the program's partial, match or map object is one to isinstance (never to type())
            ns["__class__"] = property(lambda self, cls=library: cls)
        if library is not None and issubclass(library, logging.Logger):
            ns.update(LOGGER_METHODS)
        if desc.get("generic"):
            ns["__class_getitem__"] = classmethod(lambda cls, key: cls._ic_conn.callm(cls, "__getitem__", (key,)))
        if "nt" in desc:  # namedtuples cross by value: a genuine namedtuple class with the same fields
            fields = [str(f) for f in desc["nt"]]
            defaults = [self.codec.decode(d) for d in desc.get("nt_defaults", [])]
            base = collections.namedtuple(name, fields, defaults=defaults or None)
            ns = {k: v for k, v in ns.items() if k not in ("__doc__",) and k not in fields}
            for dunder in desc.get("nt_text", ()):  # its own __str__ / __repr__, run there
                if dunder in ("__str__", "__repr__"):
                    ns[dunder] = lambda obj, name=dunder: self.text(obj, name)
            for prop in desc.get("nt_properties", ()):  # `span.length`: computed there, on the same fields
                if type(prop) is str and mirrored_name(prop) and prop not in fields:
                    ns[prop] = property(lambda obj, name=prop: self.get(obj, name))
            ns["__slots__"] = ()
            cls = type(name, (base,), ns)
            cls._ic_nt = cls
            return cls
        if any(issubclass(b, BaseException) for b in bases):
            if not any(issubclass(b, RemoteException) for b in bases):
                bases.insert(0, RemoteException)
        else:
            ns["__init__"] = RemoteMember("__init__")  # reached only by super().__init__() in a test class
            bases = bases or [RemoteObject]
        meta = RemoteContainerClass if desc.get("meta") else RemoteClass
        value_base = subclass_values.IMMUTABLE_BASES.get(desc.get("immutable")) \
            or CONTAINER_BASES.get(desc.get("container"))
        if value_base is not None and not any(issubclass(b, BaseException) for b in bases):
            ns["_ic_value_base"] = value_base  # its objects hold their value or contents (instance(), below)
            if not any(issubclass(b, value_base) for b in bases):
                bases.append(value_base)
        try:
            cls = meta(name, tuple(bases), ns)
        except TypeError:  # an MRO the judge cannot rebuild: keep the class, lose the bases
            cls = meta(name, (RemoteObject, value_base) if "_ic_value_base" in ns else (RemoteObject,), ns)
        abstract = desc.get("abstract")
        if type(abstract) is list and all(type(name) is str for name in abstract):  # never instantiated here: the
            type.__setattr__(cls, "__abstractmethods__", frozenset(abstract))  # program's constructor is called
        for base in bases:  # `class Env(Mapping)`: an instance of collections.abc.Mapping to the tests too
            real = getattr(collections.abc, base.__qualname__, None) if isinstance(base, RemoteClass) \
                and base.__module__ == "collections.abc" else None
            if isinstance(real, abc.ABCMeta):
                real.register(cls)
        return cls

    def instance(self, hid, cls, data, refs, depth):
        if isinstance(cls, type) and issubclass(cls, BaseException):
            args = tuple(self.codec._dec(a, refs, depth + 1) for a in data.get("a", []))
            message = str(data.get("m", ""))[:2000]
            if not issubclass(cls, RemoteException):
                try:
                    exc = cls(*args)
                except Exception:
                    exc = cls.__new__(cls)
                    exc.args = args
                if isinstance(exc, CandidateError):
                    exc.args = (message,)
                self._fields(exc, data.get("x"))
            else:
                exc = cls.__new__(cls)
                exc.args = args
                exc.__dict__.update(_ic_hid=hid, _ic_conn=self, _ic_msg=message)
            self._chain(exc, data, refs, depth)
            return exc
        if not isinstance(cls, RemoteClass):  # a genuine builtin type reported for a handle: keep it opaque
            cls = self._build_mirror({"id": -1, "name": getattr(cls, "__name__", "object"), "module": "builtins*",
                                      "eq": "identity", "hash": "identity"})
        value_base = getattr(cls, "_ic_value_base", None)
        value = self.codec._dec(data["v"], None, depth + 1) if value_base is not None and "v" in data else None
        if value_base in CONTAINER_BASES.values():
            key = data.get("kv")
            if type(value) is value_base and type(key) is int and key > 0 and key not in self.kept \
                    and len(self.kept) < 2 * MAX_KEPT:  # (the candidate keeps at most MAX_KEPT)
                obj = value_base.__new__(cls)
                CONTAINER_FILL[value_base](obj, value)  # the type's own method: never the mirror's forwarders
                self.kept[key] = obj  # kept in step from now on (kept.py), until no test holds it
                self.kept_seen[key] = in_place.Snapshot(obj)
                self.program_kept[key] = hid
            else:  # too large, or too many kept: a proxy without the contents
                obj = object.__new__(self._valueless(cls))
        elif value_base is not None and type(value) is value_base:
            obj = subclass_values.with_value(cls, value_base, value)
            object.__setattr__(obj, "_ic_plain", value)
        else:
            if value_base is not None:  # its value could not cross (a datetime with a tzinfo of the program's)
                cls = self._valueless(cls)
            obj = object.__new__(cls)
        object.__setattr__(obj, "_ic_hid", hid)
        object.__setattr__(obj, "_ic_conn", self)
        return obj

    def _valueless(self, cls):
        """The class's mirror as it would be without its value type: for an object whose value cannot cross."""
        made = self.valueless.get(cls)
        if made is None:
            desc = {k: v for k, v in cls._ic_desc.items() if k not in ("immutable", "container", "bases")}
            made = self.valueless[cls] = self._build_mirror(desc)  # (bases hold the value type too)
            type.__setattr__(made, "_ic_twin_of", cls)  # its objects are still instances of cls (RemoteClass)
        return made

    def _chain(self, exc, data, refs, depth):
        """`raise ... from err` and the exception being handled (__cause__, __context__), and add_note()'s notes."""
        for key, attribute in (("cause", "__cause__"), ("context", "__context__")):
            if key in data:
                linked = self.codec._dec(data[key], refs, depth + 1)
                if isinstance(linked, BaseException) and linked is not exc:
                    setattr(exc, attribute, linked)
        if data.get("quiet") is True:
            exc.__suppress_context__ = True
        notes = data.get("notes")
        if type(notes) is list and notes:
            exc.__notes__ = [str(note)[:1000] for note in notes[:20]]

    def _fields(self, exc, fields):
        """A library exception's own values (filename, pos, stderr...); never one of its methods."""
        if type(fields) is not dict:
            return
        for name, encoded in list(fields.items())[:22]:
            if type(name) is not str or name.startswith("_") or callable(getattr(type(exc), name, None)):
                continue
            try:
                value = _PLAIN.decode(encoded)  # values only: a handle is refused
                if value is None and getattr(exc, name, None) is None:
                    continue  # setting OSError.filename, even to None, makes str() "[Errno None] None: None"
                setattr(exc, name, value)
            except Exception:
                continue

    def adopt_subclass(self, cls, eager=False):
        """A class of the tests deriving from the program's class (`class Square(Shape)` in a test module): it is
        made in the program's process too, with the tests' functions as its methods (each runs here, called back),
        so the program's methods and the tests' act on one object, which is an instance of the tests' class here."""
        bases = [b for b in cls.__bases__ if b is not object]
        if eager and not (len(bases) == 1 and all(isinstance(v, _ADOPTABLE) for n, v in cls.__dict__.items()
                                                   if n not in _CLASS_DATA and not n.startswith("_ic_"))):
            return  # made when first called instead, where what cannot be given to the program is reported
        if len(bases) != 1 or not isinstance(bases[0], RemoteClass):
            raise self.unsupported_construct(
                f"the test class {cls.__qualname__} derives from the program's class and from another class")
        base = bases[0]
        if "_ic_desc" not in base.__dict__:
            self.adopt_subclass(base)
        members = {}
        for name, value in cls.__dict__.items():
            if name in _CLASS_DATA or name.startswith("_ic_"):
                continue
            if not isinstance(value, _ADOPTABLE):
                raise self.unsupported_construct(
                    f"a {type(value).__name__} ({name}) in the test class {cls.__qualname__}, which derives from the "
                    "program's class (its functions and plain values can be given to the program, not this)")
            members[name] = value
        made = self.request({"op": "subclass", "t": {"h": base._ic_hid}, "n": cls.__name__[:100],
                             "a": [self.encode_handed(members), self.encode_handed(
                                 cls.__dict__.get("_ic_class_kwargs", {}))]})
        if not isinstance(made, RemoteClass) or "_ic_desc" not in made.__dict__:
            raise CandidateGone("the candidate broke the protocol")
        type.__setattr__(cls, "_ic_desc", made._ic_desc)
        type.__setattr__(cls, "_ic_hid", made._ic_hid)
        self.classes[made._ic_hid] = cls  # the program's objects of that class are the tests' class here
        for hid in [h for h, known in self.proxies.items() if known is made]:
            self.proxies[hid] = cls  # and the class itself, handed back (a registry the program keeps)

    def code(self, target):
        """`__code__` of a program's function, for inspect: a code object made here that runs nothing, carrying the
        function's flags (isgeneratorfunction, iscoroutinefunction) and, for getsource, its place in solution.py."""
        flags, first_line, filename, name = self.request({"op": "code", "t": self._target(target)})
        if type(flags) is not int or type(first_line) is not int or type(name) is not str:
            raise AttributeError("__code__")
        if filename == "solution.py" and type(self.program_source) is str:  # getsource reads the program's text
            lines = self.program_source.splitlines(True)
            linecache.cache["solution.py"] = (len(self.program_source), None, lines, "solution.py")
        return _NOTHING.replace(co_flags=_NOTHING.co_flags | (flags & _KIND_FLAGS), co_name=name[:200],
                                co_qualname=name[:200], co_firstlineno=min(max(1, first_line), 1 << 20),
                                co_filename="solution.py" if filename == "solution.py" else "<program>")

    def signature(self, target):
        """inspect.signature of a program's function or class, rebuilt here from its parameters."""

        return signature_from_data(self.request({"op": "signature", "t": self._target(target)}))

