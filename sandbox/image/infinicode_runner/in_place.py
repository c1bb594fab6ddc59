"""Containers handed over in a call, kept in step: what the callee changed in its copy is made to the caller's own
object (`update_in_place`), and only containers that changed travel back (`Snapshot`)."""

from __future__ import annotations

import array
import collections

from .codec import container_base, dict_items, is_ndarray, plain_contents


def update_in_place(target, new):
    """Make `target` (the caller's container) hold what `new` holds: how mutation by the callee becomes visible."""
    t = type(target)
    t = container_base(t) or t  # a subclass's contents through its base type's methods, never its own
    if t is list or t is bytearray or (t is array.array and type(new) is array.array
                                       and new.typecode == target.typecode):
        t.__setitem__(target, slice(None), new)
    elif t is collections.deque:
        target.clear()
        target.extend(new)
    elif t in (dict, collections.Counter, collections.OrderedDict, collections.defaultdict):
        t.clear(target)
        for k, v in dict_items(new):
            t.__setitem__(target, k, v)
    elif t is set:
        set.clear(target)
        set.update(target, new)
    elif is_ndarray(t) and getattr(new, "shape", None) == target.shape:
        target[...] = new


class Snapshot:
    """What a container held when it arrived; `changed()` says whether the callee touched it (cheaply: by the
    identity of its items, so only containers that changed travel back)."""

    __slots__ = ("obj", "items")

    def __init__(self, obj):
        self.obj = obj
        self.items = self._items(obj)

    @staticmethod
    def _items(obj):
        t = type(obj)
        base = container_base(t)
        if base is not None:
            t, obj = base, plain_contents(obj)
        if is_ndarray(t):
            return obj.copy()
        if t is bytearray:
            return bytes(obj)
        if t is array.array:
            return (obj.typecode, obj.tobytes())
        if t in (dict, collections.Counter, collections.OrderedDict, collections.defaultdict):
            return [x for item in dict_items(obj) for x in item]  # keys and values, flat (and in order)
        if t is set:
            return set(obj)
        return list(obj)

    def changed(self) -> bool:
        now = self._items(self.obj)
        if is_ndarray(type(now)):
            return now.shape != self.items.shape or not (now == self.items).all()
        if type(now) is not list:
            return now != self.items
        return len(now) != len(self.items) or any(a is not b for a, b in zip(now, self.items, strict=False))
