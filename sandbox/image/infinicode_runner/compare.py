"""How the judge compares the program's objects: part of the connection (remote.py), kept apart for size.

Identity for plain classes and enum members, fields for dataclasses, the value inside a subclass of a value
type; the program's own __eq__ only where it agrees with the objects' attributes, its own ordering only where
it is consistent; `unsupported` where only the program could decide.
"""

from __future__ import annotations

import collections.abc
import math

from .proxies import CandidateGone, Deadline, RemoteObject, Unsupported, is_proxy
from .subclass_values import immutable_base, value_inside


def _is_object(obj) -> bool:
    """An object of the program (by its real type: a mock with spec= one only claims to be)."""
    return issubclass(type(obj), RemoteObject)


def _close(x: float, y: float) -> bool:
    """Equal up to the rounding of a few float operations (0.1 + 0.2 and 0.3), never a difference a value could
    mean (a second on an epoch timestamp is 6e-10 of it)."""
    return x == y or math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15)


class Comparisons:
    """Mixed into Connection: ==, ordering and hashing of the program's objects, decided here."""

    def eq(self, a, b):
        if a is b:
            return True
        desc = type(a)._ic_desc
        kind = desc.get("eq")
        if kind == "identity" or b is None:
            return NotImplemented
        if kind == "enum":
            if desc.get("mixin") and not is_proxy(b):
                return self._enum_value(a) == b
            return NotImplemented
        if kind == "dataclass":
            if type(b) is not type(a):
                return NotImplemented
            names = desc.get("fields", [])
            return self.fields(a, names) == self.fields(b, names)
        if kind == "mapping":  # collections.abc.Mapping's __eq__, evaluated here on the items the program gives
            if not isinstance(b, collections.abc.Mapping):
                return NotImplemented
            return {key: a[key] for key in a} == {key: b[key] for key in b}
        if kind == "userdata":  # UserList/UserDict/UserString's __eq__, on the data the program holds
            other = self.get(b, "data") if _is_object(b) and type(b)._ic_desc.get("eq") == "userdata" else b
            mine = self.get(a, "data")
            if is_proxy(other) or is_proxy(mine):
                return NotImplemented
            return mine == other
        if kind == "value":
            other = self.value(b) if _is_object(b) and type(b)._ic_desc.get("eq") == "value" else b
            if is_proxy(other):
                return NotImplemented
            return self._plain_value(a) == other
        if _is_object(b) and type(b) is type(a):
            agreed = self._agreed_eq(a, b)
            if agreed is not None:
                return agreed
        raise self.unsupported_construct(
            f"comparing {desc.get('qualname')} objects with ==: {desc.get('eq_owner') or desc.get('qualname')} "
            "defines its own __eq__, so the program would decide its own verdict")

    def _plain_value(self, a):
        """The value inside an object of a value type's subclass; undecided where it cannot cross as a value (a
        datetime with a time zone class of the program's), which would come back as another such object."""
        value = self.value(a)
        if is_proxy(value):
            desc = type(a)._ic_desc
            raise self.unsupported_construct(f"comparing {desc.get('qualname')} objects: their value cannot cross "
                                             "the sandbox boundary")
        return value

    def _agreed_eq(self, a, b):
        """Two objects of one program class with its own __eq__ (`v1 + v2 == Vector(4, 6)`): its answer counts when
        the objects' attributes, compared here by the same rules, give the same one. An __eq__ that says True of
        objects that differ disagrees, and the comparison stays undecided (None)."""
        try:
            same = self._same_attributes(a, b)
            if same is None:
                return None
            said = self.callm(a, "__eq__", (b,))
        except (Deadline, CandidateGone, Unsupported):
            raise
        except Exception:  # a recursion without end...
            return None
        return said if type(said) is bool and said == same else None

    def _same_attributes(self, a, b):
        """Whether two program objects hold the same attributes, compared by the judge's rules; None where that
        says nothing (attributes hidden by the class, or none at all on either side)."""
        left, right = self.attributes(a), self.attributes(b)
        if type(left) is not dict or type(right) is not dict or not left or not right:
            return None
        if left.keys() != right.keys():
            return False
        # floats as an __eq__ with math.isclose sees them (`Point(0.1, 1) + Point(0.2, 1) == Point(0.3, 2)`): a
        # difference in the last digits, never more
        return all(_close(left[k], right[k]) if type(left[k]) is float and type(right[k]) is float
                   else left[k] == right[k] for k in left)

    def order(self, a, b, op):
        desc = type(a)._ic_desc
        kind = desc.get("order")
        if kind == "dataclass" and type(b) is type(a):
            names = desc.get("fields", [])
            left, right = self.fields(a, names), self.fields(b, names)
        elif kind == "value":
            left = self._plain_value(a)
            right = self.value(b) if _is_object(b) and type(b)._ic_desc.get("eq") == "value" else b
            if is_proxy(right):
                return NotImplemented
        elif desc.get("eq") == "enum" and desc.get("mixin"):
            left = self._enum_value(a)
            right = self._enum_value(b) if _is_object(b) else b
        elif kind == "custom":
            if _is_object(b) and type(b) is type(a) and desc.get("name") in self.named_in_tests:
                said = self._agreed_order(a, b, op)
                if said is not None:
                    return said
                raise self.unsupported_construct(
                    f"ordering {desc.get('qualname')} objects with {op}: the class's own ordering contradicts "
                    "itself (True of both orders, or of objects that do not differ)")
            raise self.unsupported_construct(
                f"ordering {desc.get('qualname')} objects with {op}: the class defines its own comparison, so the "
                "program would decide its own verdict")
        else:
            return NotImplemented
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]

    def _agreed_order(self, a, b, op):
        """Two objects of one program class with its own ordering, a class the tests name (`sorted(versions)`,
        `Version("2.0") > v`): the ordering is what they test, and its answer counts when it is consistent. A True
        must not be said of the opposite order too, asked either way, and a strict one not of two objects whose
        attributes are the same. An ordering that says True of everything disagrees with itself, and the
        comparison stays undecided (None)."""
        said = self.ordered(a, b, op)
        if type(said) is not bool:
            return None
        if not said:
            return False
        strict = "<" if op in ("<", "<=") else ">"
        opposite = ">" if strict == "<" else "<"
        if self.ordered(b, a, strict) is not False or self.ordered(a, b, opposite) is not False:
            return None
        if op in ("<", ">"):
            try:
                same = self._same_attributes(a, b)
            except (Deadline, CandidateGone, Unsupported):
                raise
            except Exception:  # a recursion without end...
                return None
            if same is not False:
                return None
        return said

    def _enum_value(self, a):
        """The value a member of an enum with a value type mixed in (IntEnum, StrEnum, `class C(str, Enum)`) holds:
        what the mixed-in type's `==` and hash read, the value inside the mirror (never `_value_`, which the
        program may have rebound)."""
        base = immutable_base(type(a))
        if base is None or type(a)._ic_desc.get("eq") != "enum":
            return self.get(a, "_value_")
        return value_inside(a, base)

    def hash(self, a):
        desc = type(a)._ic_desc
        if desc.get("eq") == "enum" and desc.get("mixin"):  # the mixed-in type's hash: `Suit.HEARTS in {2, 3}`
            return hash(self._enum_value(a))
        kind = desc.get("hash")
        if kind == "fields":
            return hash(self.fields(a, desc.get("fields", [])))
        if kind == "value":
            return hash(self.value(a))
        if kind == "remote":
            value = self.callm(a, "__hash__", ())
            if type(value) is not int:
                raise TypeError("__hash__ returned a non-integer")
            return value
        if kind == "none":
            raise TypeError(f"unhashable type: '{desc.get('name')}'")
        return hash(("infinicode-handle", a._ic_hid))

