"""What the tests hand the program, as the program sees it (in the candidate process): a proxy per object of the
tests (a callback, their own object, an iterator, a Mapping of theirs, a coroutine), whose every use is a request
to the judge, which decides what the program may do with it (handover.py).
"""

from __future__ import annotations

import collections.abc
import types


class JudgeProxy:
    """A judge object the tests handed over (a callback, the tests' own object, an iterator)."""

    __slots__ = ("_jid", "_side")

    def __init__(self, side, jid):
        object.__setattr__(self, "_jid", jid)
        object.__setattr__(self, "_side", side)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._side.request({"op": "get", "t": {"j": self._jid}, "n": name})

    def __setattr__(self, name, value):
        self._side.request_args("set", self, [value], {}, n=name)

    def __call__(self, *args, **kwargs):
        return self._side.request_args("call", self, args, kwargs)

    def __repr__(self):
        return self._side.request_args("callm", self, (), {}, m="__repr__")


class JudgeFunction(JudgeProxy):
    # A function of the tests. Set on a class of the program (a method the tests patched), it binds to the
    # instance as a function does. It carries the name and docstring that functools.wraps copies.

    __slots__ = ("__name__", "__qualname__", "_doc")

    def __init__(self, side, jid, name="function", qualname="function", doc=None):
        super().__init__(side, jid)
        for slot, value in (("__name__", name), ("__qualname__", qualname), ("_doc", doc)):
            object.__setattr__(self, slot, value)

    @property
    def __doc__(self):
        return self._doc

    def __get__(self, instance, owner=None):
        return self if instance is None else types.MethodType(self, instance)


def _proxy_dunder(name):
    def forward(self, *args):
        return self._side.request_args("callm", self, args, {}, m=name)
    return forward


for _name in ("__len__", "__iter__", "__next__", "__getitem__", "__setitem__", "__delitem__", "__contains__",
              "__bool__", "__str__", "__eq__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__reversed__",
              "__enter__", "__exit__"):
    setattr(JudgeProxy, _name, _proxy_dunder(_name))


def _container_proxy(abc, extra=()):
    """A proxy that is what the tests' object is, to isinstance (a Mapping of the tests: the program checks
    `isinstance(config, Mapping)`, then reads it with `dict(config)` or `.items()`, the ABC's own methods)."""
    members = {"__slots__": ()}
    for name in extra:  # abstract methods of the ABC that the proxy does not forward already
        members[name] = lambda self, *args, _name=name: self._side.request_args("callm", self, args, {}, m=_name)
    return type(f"Judge{abc.__name__}", (JudgeProxy, abc), members)


class JudgeAwaitable(JudgeProxy):
    """A coroutine of the tests (their async fake): awaiting it runs it to its end on their side."""

    __slots__ = ()

    def __await__(self):
        return self._side.request({"op": "await", "t": {"j": self._jid}})
        yield  # a generator: the await completes without suspending the program's loop


JUDGE_KINDS = {"Awaitable": JudgeAwaitable,
               "Mapping": _container_proxy(collections.abc.Mapping),
               "MutableMapping": _container_proxy(collections.abc.MutableMapping),
               "Sequence": _container_proxy(collections.abc.Sequence),
               "MutableSequence": _container_proxy(collections.abc.MutableSequence, ("insert",)),
               "Set": _container_proxy(collections.abc.Set),
               "MutableSet": _container_proxy(collections.abc.MutableSet, ("add", "discard"))}
