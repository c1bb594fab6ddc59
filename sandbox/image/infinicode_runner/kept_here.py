"""Containers kept in step between the judge and the candidate, on the judge's side: part of the connection
(remote.py), kept apart for size. kept.py is the candidate's side, and says which containers these are.

`kept` maps a key to the judge's container: a test's container the program keeps, one inside a program attribute
the tests read, or the mirror of a program's list/dict/set subclass (`program_kept`). Before each request the tests'
changes go ("kx"), and the program containers no test holds any more are let go ("kr"); each reply's news is
taken in `_keep_in_step`.
"""

from __future__ import annotations

import sys

from . import codec as wire
from . import in_place
from .kept import MAX_KEPT
from .proxies import RemoteObject


class KeptHere:
    """Mixed into Connection, which holds `kept`, `kept_seen` (key -> Snapshot as the program last saw it),
    `program_kept` (key -> handle) and `proxies`."""

    def _refs(self):
        """Encoding refs for a request's arguments: the containers the program keeps go as references to its own."""
        return {id(obj): [-key, obj] for key, obj in self.kept.items()}

    def _release_unused(self, msg, refs):
        """The program's containers no test holds any more (their mirror is referenced only here) are let go on
        both sides, so that the next ones can be kept in step: the candidate keeps at most MAX_KEPT at once."""
        released = []
        for key, hid in list(self.program_kept.items()):
            # references: proxies, kept, kept_seen's snapshot, the request's refs (_refs), `mirror` below and
            # getrefcount's argument
            mirror = self.kept.get(key)
            if mirror is None or sys.getrefcount(mirror) <= 5 + (id(mirror) in (refs or ())):
                (refs or {}).pop(id(mirror), None)
                released.append([key, hid])
                del self.program_kept[key]
                self.kept.pop(key, None)
                self.kept_seen.pop(key, None)
                self.proxies.pop(hid, None)
        if released:
            msg["kr"] = released

    def forget_tracebacks(self):
        """After each test. The program's exceptions are kept here (identity), and the traceback each got when it was
        raised here holds the frames of the test that saw it, and the test's objects with them: let those go, so
        that the program's containers that no test holds any more are released (_release_unused)."""
        for obj in self.proxies.values():
            if issubclass(type(obj), BaseException):
                obj.__traceback__ = None
        self.let_go_of_unheld()

    def let_go_of_unheld(self):
        """After each test: the program's objects no test holds any more (their proxy is referenced from `proxies`
        alone) are let go in the candidate too, and with them what they kept of the tests' (the list a test gave to
        `Recorder(sink)`), so that a long parametrized run does not use up the containers kept in step."""
        kept_handles = set(self.program_kept.values())
        for hid in list(self.proxies):
            obj = self.proxies[hid]
            if hid in kept_handles or isinstance(obj, type) or not issubclass(type(obj), RemoteObject):
                continue
            if sys.getrefcount(obj) <= 3:  # `proxies`, `obj` and getrefcount's argument
                del self.proxies[hid]
                self.let_go.append(hid)

    def _send_kept_changes(self, msg):
        changes, refs = [], self._refs()
        for key, obj in self.kept.items():
            if self.kept_seen[key].changed():
                changes.append([key, self.encode_handed_contents(obj, refs)])
                self.kept_seen[key] = in_place.Snapshot(obj)
        if changes:
            msg["kx"] = changes

    def encode_handed_contents(self, obj, refs):
        try:
            return wire.encode_contents(self.codec, obj, refs)
        except (TypeError, ValueError) as exc:
            raise self.unsupported_construct(f"handing this to the program: {exc}") from None

    def _keep_in_step(self, reply, back):
        """The program's news about the containers kept in step: which are new, which it let go."""
        for number, _ in reply.get("s", ()):
            if number < 0 and -number in self.kept:
                self.kept_seen[-number] = in_place.Snapshot(self.kept[-number])
        for number, key in reply.get("k", ())[:MAX_KEPT]:
            if type(number) is int and number >= 0 and type(key) is int and key > 0 and len(self.kept) < MAX_KEPT \
                    and wire.is_mutable(back.get(number)):
                self.kept[key] = back[number]
                self.kept_seen[key] = in_place.Snapshot(back[number])
        for key in reply.get("kd", ())[:MAX_KEPT]:
            self.kept.pop(key, None)
            self.kept_seen.pop(key, None)

