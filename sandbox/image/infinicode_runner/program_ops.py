"""The judge's requests on the program's objects, carried out in the candidate process: calls, attributes,
comparisons the judge checks (attributes, ordering), copies, inspect's questions, patches of a class.

Part of the candidate process (candidate.py), so as untrusted as the program: the judge checks every answer.
"""

from __future__ import annotations

import collections
import types

from . import codec as wire
from . import subclass_values
from .describe import VALUE_BASES
from .loops import run_to_end
from .signatures import signature_data


def _value_of(obj, base_name):
    """The value inside an object of a value type's subclass, read by the base type's own methods as Python's `==`
    would read it (never a subclass's `__iter__` or `keys`, which could show other contents)."""
    base = next(b for b in VALUE_BASES if b.__name__ == base_name)
    if base in (wire.datetime.date, wire.datetime.datetime, wire.datetime.time, wire.datetime.timedelta):
        return subclass_values.plain_datetime(obj)
    if base in (list, set):
        return base.copy(obj)
    if base in (dict, collections.defaultdict, collections.Counter):
        plain = dict(dict.items(obj))
        return collections.Counter(plain) if base is collections.Counter else plain
    if base is collections.OrderedDict:
        return collections.OrderedDict(collections.OrderedDict.items(obj))
    if base is collections.deque:
        return collections.deque(collections.deque.__iter__(obj), obj.maxlen)
    immutable = subclass_values.immutable_base(type(obj))
    if immutable is base:
        return subclass_values.value_inside(obj, base)
    return base(obj)


_TYPE_NAMESPACE, _TYPE_MRO, _TYPE_NAME = (type.__dict__[n] for n in ("__dict__", "__mro__", "__name__"))


def _own_attributes(obj):
    """The object's attributes as Python stores them, its instance dict and its slots, read through the builtin
    descriptors: a class cannot show others (a `__dict__` property, its own `__getattribute__`). None where the
    class replaced those descriptors."""
    attrs = {}
    for klass in _TYPE_MRO.__get__(type(obj)):
        namespace = _TYPE_NAMESPACE.__get__(klass)
        slots = namespace.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            stored = namespace.get(f"_{_TYPE_NAME.__get__(klass).lstrip('_')}{name}"
                                   if name.startswith("__") and not name.endswith("__") else name)
            if type(stored) is not types.MemberDescriptorType:
                return None
            try:
                attrs[name] = stored.__get__(obj, klass)
            except AttributeError:  # a slot never set
                pass
        if "__dict__" in namespace:
            if type(namespace["__dict__"]) is not types.GetSetDescriptorType:
                return None
            for name, value in dict.items(namespace["__dict__"].__get__(obj, klass)):
                attrs.setdefault(name, value)
    return attrs


_MISSING = object()
_class_originals = {}  # (id of a program class, attribute) -> its own value before the tests patched it


_LOOP = []  # the event loop async generators of the program run on, made at the first one


def name_in_dict(obj, name):
    try:
        return name in object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return False


def perform(op, target, msg, args, kwargs, side):
    """Carry out one request of the judge on `target`, an object of the program (or the program's module)."""
    if op == "call":
        return target(*args, **kwargs)
    if op == "callm":
        name = msg["m"]
        if name == "__getitem__" and isinstance(target, type) and len(args) == 1 and not kwargs:
            return target[args[0]]  # a class: its metaclass's item (an Enum's member) or a generic's alias, Stack[int]
        if name.startswith("__"):  # implicit special-method lookup, as Python does it: on the type
            return getattr(type(target), name)(target, *args, **kwargs)
        return getattr(target, name)(*args, **kwargs)
    if op == "get":
        return getattr(target, msg["n"])
    if op == "set":
        if msg.get("own"):  # the object's own method again: what set over it goes
            if name_in_dict(target, msg["n"]):
                delattr(target, msg["n"])
            return None
        return setattr(target, msg["n"], args[0])
    if op == "fields":
        return tuple(getattr(target, n) for n in msg["n"])
    if op == "code":  # inspect in the tests: what kind of function, and where in solution.py
        code = target.__code__ if isinstance(target, types.FunctionType) else None
        if not isinstance(code, types.CodeType):
            raise TypeError("not a function")
        return [code.co_flags, code.co_firstlineno, code.co_filename, target.__name__]
    if op == "attrs":  # what the judge compares an __eq__ or an ordering of the program's with
        return _own_attributes(target)
    if op == "order":  # target < other (or <=, >, >=), as Python evaluates it, reflected methods included
        import operator
        return {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[msg["n"]](target, args[0])
    if op == "value":
        return _value_of(target, msg["n"])
    if op == "copy":
        import copy
        return copy.deepcopy(target) if msg.get("n") == "deepcopy" else copy.copy(target)
    if op == "pickle":  # pickle.dumps in the tests of the program's object: its own pickle, made here
        import pickle
        return pickle.dumps(target, protocol=min(max(int(msg.get("n") or 0), 0), pickle.HIGHEST_PROTOCOL))
    if op == "unpickle":  # ... and pickle.loads of that, here again
        import pickle
        return pickle.loads(args[0])
    if op == "exit":  # a with block of the tests raised inside the program's context manager
        error = side.judge_exception(msg["e"])
        exit_ = type(target).__aexit__ if msg.get("n") == "__aexit__" else type(target).__exit__
        return exit_(target, type(error), error, error.__traceback__)
    if op == "await":
        return run_to_end(target)
    if op == "reload":  # importlib.reload(solution) in the tests: the program runs again in its module, as there
        exec(compile(str(msg["n"]), "solution.py", "exec", dont_inherit=True), target.__dict__)
        return {k: v for k, v in target.__dict__.items() if not k.startswith("__") or k in ("__all__", "__doc__")}
    if op == "doctest":  # doctest.testmod(solution) in the tests: the examples run here, their report printed here
        import doctest
        verbose, report, flags, exclude_empty = args
        return tuple(doctest.testmod(target, verbose=verbose, report=report, optionflags=flags,
                                     exclude_empty=exclude_empty))
    if op == "run_path":  # runpy.run_path of the program in the tests (scripts.py): here, as a fresh module
        namespace = {**args[1], "__name__": args[0], "__file__": "solution.py", "__builtins__": __builtins__}
        exec(compile(str(msg["n"]), "solution.py", "exec", dont_inherit=True), namespace)
        return {k: v for k, v in namespace.items() if not k.startswith("__")}
    if op == "run_main":  # the tests run the program as a script (scripts.py): in a child of this process
        from .programs import run_program
        return run_program(str(msg["n"]), str(args[1]), float(msg["timeout"]), 0, argv=list(args[0]), limits=False,
                           env=args[2] if len(args) > 2 else None, cwd=args[3] if len(args) > 3 else None)
    if op == "throw":  # g.throw(exc) in the tests, on a generator of the program
        return target.throw(side.judge_exception(msg["n"] if type(msg.get("n")) is dict else {}))
    if op == "anext":  # one item of an async generator: on one loop for all its items (asyncio.run would close it)
        import asyncio
        if not _LOOP:
            _LOOP.append(asyncio.new_event_loop())
        return _LOOP[0].run_until_complete(target.__anext__())
    if op == "unbound":  # the class's own method on an object (super() in a test class deriving from it)
        return getattr(target, msg["m"])(*args, **kwargs)
    if op == "subclass":  # a test class deriving from this class: made here, its methods the tests' functions
        if not isinstance(target, type) or type(args[0]) is not dict or (len(args) > 1 and type(args[1]) is not dict):
            raise TypeError("malformed subclass request")
        keywords = {str(k): v for k, v in args[1].items()} if len(args) > 1 else {}  # for __init_subclass__
        return type(target)(str(msg["n"]), (target,), {str(k): v for k, v in args[0].items()}, **keywords)
    if op == "patch_class":  # monkeypatch.setattr(TheirClass, name, value) in the tests, and its undo
        name = str(msg["n"])
        key = (id(target), name)
        _class_originals.setdefault(key, target.__dict__.get(name, _MISSING))
        if msg.get("restore"):
            original = _class_originals.pop(key)
            if original is _MISSING:
                delattr(target, name)
            else:
                setattr(target, name, original)
        elif msg.get("property"):  # a PropertyMock of the tests: reading the attribute calls it, setting it too
            mock = args[0]
            setattr(target, name, property(lambda obj: mock(), lambda obj, value: mock(value)))
        else:
            setattr(target, name, args[0])
        return None
    if op == "signature":  # inspect.signature(f) in the tests: the parameters as data
        return signature_data(target)
    raise ValueError(f"unknown request {op!r}")
