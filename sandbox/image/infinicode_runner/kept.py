"""Containers kept in step between the candidate and the judge, on the candidate's side (candidate.py).

Three kinds: a container of the tests that the program kept a reference to after a call (`Logger(lines)`, a
suspended generator), one inside a program attribute the tests read (`board.cells[0][1] = "X"`), and the program's
object of a subclass of list, dict or set (`class History(list)`), whose mirror in the judge derives from the same
type and holds its contents, so that `isinstance(h, list)` and `json.dumps(h)` work there. Each side holds its own
copy. The judge sends the tests' changes before a request ("kx"); every reply carries the program's
changes ("s", under negative numbers), the ones newly kept ("k") and those let go ("kd").
"""

from __future__ import annotations

import sys

from . import codec as wire
from . import in_place, state

# Containers kept in step (the tests' that the program keeps, and those inside the program's attributes the tests
# read): each costs every later call a look at each item, so at most 32, of at most 1,000 items when kept (a list
# handed to a constructor as data is usually larger, and read only), let go past 4,000. Past these, each side
# works on its copy.
MAX_KEPT, MAX_KEPT_ITEMS = 32, 1000
# The program's list, dict or set subclasses are never let go for their size (the judge's copy would go stale
# unnoticed), so they are kept only up to this size when they first cross; a larger one crosses as a proxy.
MAX_PROGRAM_ITEMS = 10_000


def _size(container):
    base = wire.container_base(type(container))
    if base is not None:
        return base.__len__(container)  # never the program's __len__
    size = getattr(container, "size", None) if type(container) not in (list, dict, set) else None
    return size if type(size) is int else len(container)


class KeptInStep:
    """Mixed into CandidateSide, which holds `kept` (key -> Snapshot), `next_key`, `program_keys` (the keys of
    the program's own containers) and `offered` (ids of those that crossed)."""

    def _sync(self, reply, snapshots, refs):
        """The call's containers (and those the program keeps) that changed travel back in the reply."""
        limit = sys.getrecursionlimit()
        state.REAL_SET_RECURSION(max(limit, 4 * wire.MAX_DEPTH + 1000))
        try:
            sync = [[n, wire.encode_contents(self.codec, s.obj, refs)] for n, s in snapshots if s.changed()]
        except BaseException:
            sync = []
        finally:
            state.REAL_SET_RECURSION(limit)
        for n, _ in sync:
            if n < 0:
                self.kept[-n] = in_place.Snapshot(self.kept[-n].obj)
        if sync:
            reply["s"] = sync

    def _keep_retained(self, reply, fresh, counts):
        """Containers of the tests that the program kept a reference to (an attribute, a closure, a suspended
        generator): later changes travel back with every reply, as if the program held the tests' own."""
        self._keep(reply, [(n, obj) for (n, obj), before in zip(fresh, counts, strict=True)
                           if sys.getrefcount(obj) > before])

    def _keep(self, reply, numbered):
        kept = reply.setdefault("k", [])
        for n, obj in numbered:
            if len(self.kept) < MAX_KEPT and _size(obj) <= MAX_KEPT_ITEMS:
                self.next_key += 1
                self.kept[self.next_key] = in_place.Snapshot(obj)
                kept.append([n, self.next_key])
        if not kept:
            del reply["k"]

    def keep_program_container(self, obj, contents):
        """The key under which a program's object of a list, dict or set subclass, crossing for the first time with
        `contents` encoded, is kept in step; None if it cannot be (the judge then gets a plain proxy)."""
        if id(obj) in self.offered:
            return None  # crossed before: the judge has its mirror already
        self.offered.add(id(obj))  # (the object lives on in `handles`, so its id is not reused)
        if contents is None or len(self.kept) >= MAX_KEPT or _size(obj) > MAX_PROGRAM_ITEMS:
            return None
        self.next_key += 1
        self.kept[self.next_key] = in_place.Snapshot(obj)
        self.program_keys.add(self.next_key)
        return self.next_key

    def _release(self, released):
        """The judge let go of these program containers (no test holds them): so do we."""
        for key, hid in released or ():
            if key in self.program_keys and self.handles.get(hid) is self.kept[key].obj:
                self.program_keys.discard(key)
                del self.kept[key]
                del self.handles[hid]
                self.offered.discard(hid)

    def _let_go(self, handles):
        """The judge let go of these objects of the program (no test holds them): so do we, unless they are kept in
        step (released on their own)."""
        kept = {id(self.kept[key].obj) for key in self.program_keys}
        for hid in handles if type(handles) is list else ():
            if type(hid) is int and hid not in kept:
                self.handles.pop(hid, None)
                self.offered.discard(hid)

    def _drop_unused(self, reply):
        # let go of by the program (only we hold it), or grown too large to check at every call
        dropped = [key for key, snap in self.kept.items()
                   if sys.getrefcount(snap.obj) <= 2
                   or (key not in self.program_keys and _size(snap.obj) > 4 * MAX_KEPT_ITEMS)]
        for key in dropped:
            del self.kept[key]
        if dropped:
            reply["kd"] = dropped
