"""Containers kept live across the boundary: a genuine list, dict or set on this side (a copy, compared and read
as Python does) whose changes are also made to the other side's own container, as one process would see them.

The judge uses them for lists read from a candidate object's attribute (`cart.items.append(x)`, proxies.py); the
candidate for those read from an object of the tests (`node.neighbors.append(other)`, tests_objects.py). Each
family is built with the function that sends one change: forward(obj, name, args, kwargs)."""

from __future__ import annotations

CHANGES = {
    list: ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse", "__setitem__", "__delitem__",
           "__iadd__", "__imul__"),
    dict: ("__setitem__", "__delitem__", "pop", "clear", "update", "setdefault", "__ior__"),
    set: ("add", "discard", "remove", "clear", "update", "difference_update", "intersection_update",
          "symmetric_difference_update", "__ior__", "__iand__", "__isub__", "__ixor__"),
}
# removing an arbitrary item: the other side removes exactly the one removed here
SPECIAL = {list: {}, dict: {"popitem": "pop"}, set: {"pop": "discard"}}


def _method(base, name, forward, remote=None, result_arg=False):
    local = getattr(base, name)

    def method(self, *args, **kwargs):
        result = local(self, *args, **kwargs)
        if result_arg:  # set.pop / dict.popitem
            args = (result if base is set else result[0],)
        forward(self, remote or name, args, kwargs)
        return self if name.startswith("__i") else result

    method.__name__ = name
    return method


def live_classes(forward, prefix: str) -> dict:
    """{list: ..., dict: ..., set: ...}: subclasses whose changes are made here, then sent by forward."""
    classes = {}
    for base in (list, dict, set):
        ns = {name: _method(base, name, forward) for name in CHANGES[base]}
        ns.update({name: _method(base, name, forward, remote, result_arg=True)
                   for name, remote in SPECIAL[base].items()})
        # pickled and copied as the plain container it holds (the link to the other side stays with this one)
        ns["__reduce_ex__"] = lambda self, protocol, base=base: (base, (base(self),))
        classes[base] = type(f"{prefix}{base.__name__.capitalize()}", (base,), ns)
    return classes


def allowed(container, name: str) -> bool:
    """Whether `name` is a change a live container on the other side may ask of this one."""
    base = type(container)
    return base in CHANGES and (name in CHANGES[base] or name in SPECIAL[base].values())
