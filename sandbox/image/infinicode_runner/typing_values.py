"""Type annotations as values that cross the sandbox: `list[int]`, `int | None`, `Optional[Node]`,
`Callable[[int], str]`, `Literal["a"]`, `Annotated[int, ...]`, `Dict[str, List[int]]` and the like.

They are data (a form and its arguments), so each side rebuilds its own from the form's name: a test comparing the
program's `get_type_hints(f)["return"] == Optional[int]` compares two of the judge's own objects, never asking the
program. A form not listed here crosses as any other object of the program does.
"""

from __future__ import annotations

import collections.abc
import functools
import operator
import types
import typing

# typing's generic aliases, rebuilt as getattr(typing, name)[args]
_NAMED = {"List", "Dict", "Set", "FrozenSet", "Tuple", "Type", "Iterable", "Iterator", "Sequence",
          "MutableSequence", "Mapping", "MutableMapping", "AbstractSet", "MutableSet", "Collection", "Container",
          "Generator", "AsyncGenerator", "AsyncIterator", "AsyncIterable", "Awaitable", "Coroutine", "Reversible",
          "Deque", "DefaultDict", "OrderedDict", "Counter", "ChainMap", "KeysView", "ItemsView", "ValuesView",
          "ContextManager", "AsyncContextManager"}
_FORMS = {"Union", "Literal", "ClassVar", "Final"}  # special forms whose alias keeps them as __origin__
_ANNOTATED = getattr(typing, "_AnnotatedAlias", None)


def encode(obj, enc):
    """[form, arguments] for an annotation value (`enc` encodes each argument), or None when obj is not one."""
    t = type(obj)
    if t is types.GenericAlias and isinstance(obj.__origin__, type):
        return ["generic", [enc(obj.__origin__), *[enc(a) for a in obj.__args__]]]
    if t is types.UnionType:
        return ["union", [enc(a) for a in obj.__args__]]
    if t.__module__ == "collections.abc" and t.__name__ == "_CallableGenericAlias":
        return ["abc.Callable", [enc(a) for a in obj.__args__]]
    if t.__module__ != "typing":
        return None
    if t is typing.ForwardRef:
        return ["ForwardRef", [str(obj.__forward_arg__)]]
    if _ANNOTATED is not None and t is _ANNOTATED:
        return ["Annotated", [enc(obj.__origin__), *[enc(m) for m in obj.__metadata__]]]
    args = getattr(obj, "__args__", None)
    if type(args) is not tuple:
        return None
    origin = getattr(obj, "__origin__", None)
    form = getattr(origin, "_name", None) if isinstance(origin, typing._SpecialForm) else getattr(obj, "_name", None)
    if form in _FORMS or form in _NAMED or form == "Callable":
        return [form, [enc(a) for a in args]]
    return None


def decode(form, args, dec):
    """The annotation value encode() described, built here; ValueError when the description is not one."""
    if type(form) is not str or type(args) is not list:
        raise ValueError("malformed annotation")
    if form == "ForwardRef":
        if len(args) != 1 or type(args[0]) is not str or len(args[0]) > 2000:
            raise ValueError("malformed annotation")
        return typing.ForwardRef(args[0])  # its text is never evaluated by Python here (annotations.py)
    values = tuple(dec(a) for a in args)
    try:
        if form == "generic":
            if not values or not isinstance(values[0], type):
                raise ValueError("malformed annotation")
            return types.GenericAlias(values[0], values[1:])
        if form == "union":
            return functools.reduce(operator.or_, values)
        if form in ("Callable", "abc.Callable"):
            base = typing.Callable if form == "Callable" else collections.abc.Callable
            if len(values) == 2 and values[0] is Ellipsis:
                return base[..., values[1]]
            return base[list(values[:-1]), values[-1]]
        if form == "Annotated":
            return typing.Annotated[values]
        if form in _FORMS or form in _NAMED:
            return getattr(typing, form)[values if len(values) != 1 else values[0]]
    except (TypeError, IndexError):
        raise ValueError("malformed annotation") from None
    raise ValueError("malformed annotation")
