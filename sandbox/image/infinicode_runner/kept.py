"""Containers kept in step between the candidate and the judge, on the candidate's side (candidate.py).

Two kinds: a container of the tests that the program kept a reference to after a call (`Logger(lines)`, a
suspended generator), and one inside a program attribute the tests read (`board.cells[0][1] = "X"`). Each side
holds its own copy. The judge sends the tests' changes before a request ("kx"); every reply carries the program's
changes ("s", under negative numbers), the ones newly kept ("k") and those let go ("kd").
"""

from __future__ import annotations

import sys

from . import codec as wire
from . import in_place

# Containers kept in step (the tests' that the program keeps, and those inside the program's attributes the tests
# read): each costs every later call a look at each item, so at most 32, of at most 1,000 items when kept (a list
# handed to a constructor as data is usually larger, and read only), let go past 4,000. Past these, each side
# works on its copy.
MAX_KEPT, MAX_KEPT_ITEMS = 32, 1000


def _size(container):
    size = getattr(container, "size", None) if type(container) not in (list, dict, set) else None
    return size if type(size) is int else len(container)


class KeptInStep:
    """Mixed into CandidateSide, which holds `kept` (key -> Snapshot) and `next_key`."""

    def _sync(self, reply, snapshots, refs):
        """The call's containers (and those the program keeps) that changed travel back in the reply."""
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * wire.MAX_DEPTH + 1000))
        try:
            sync = [[n, wire.encode_contents(self.codec, s.obj, refs)] for n, s in snapshots if s.changed()]
        except BaseException:
            sync = []
        finally:
            sys.setrecursionlimit(limit)
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

    def _drop_unused(self, reply):
        # let go of by the program (only we hold it), or grown too large to check at every call
        dropped = [key for key, snap in self.kept.items()
                   if sys.getrefcount(snap.obj) <= 2 or _size(snap.obj) > 4 * MAX_KEPT_ITEMS]
        for key in dropped:
            del self.kept[key]
        if dropped:
            reply["kd"] = dropped
