"""Honest programs judged with Python's semantics (issue 10).

Each row is an ordinary task as users write it: realistic tests, a correct program that must get "passed", and a
buggy one that must get "failed" with a failure that shows what differed. The tests run in the judge (real pytest
for the pytest form); the programs run as the sandboxed candidate.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple

import pytest

from sandbox import Job, Sandbox, Tests


class Case(NamedTuple):
    name: str
    tests: dict  # keyword arguments of Tests, built when the case runs
    correct: str
    buggy: str
    differs: str  # the repr of what the buggy program produced, shown by a failing outcome (message or actual)


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def pytest_module(source: str) -> dict:
    return {"kind": "pytest", "source": src(source)}


def bug(program: str, old: str, new: str) -> str:
    """The buggy version: one visible edit of the correct program."""
    assert program.count(old) == 1, f"bug edit {old!r} must match exactly once"
    return program.replace(old, new)


# ---- classes, identity, attributes ---------------------------------------------------------------------------

LRU = src('''
    from collections import OrderedDict


    class LRUCache:
        def __init__(self, capacity):
            self.capacity = capacity
            self._data = OrderedDict()

        def get(self, key):
            if key not in self._data:
                return -1
            self._data.move_to_end(key)
            return self._data[key]

        def put(self, key, value):
            self._data[key] = value
            self._data.move_to_end(key)
            if len(self._data) > self.capacity:
                self._data.popitem(last=False)
''')

REGISTRY = src('''
    class Connection:
        def __init__(self, name):
            self.name = name


    class Registry:
        def __init__(self):
            self._items = {}
            self.created = 0

        def get(self, name):
            if name not in self._items:
                self._items[name] = Connection(name)
                self.created += 1
            return self._items[name]
''')

RECTANGLE = src('''
    class Rectangle:
        def __init__(self, width, height):
            self.width = width
            self.height = height

        @property
        def width(self):
            return self._width

        @width.setter
        def width(self, value):
            if value < 0:
                raise ValueError("width must be >= 0")
            self._width = value

        @property
        def area(self):
            return self.width * self.height
''')

STACK = src('''
    class Stack:
        def __init__(self):
            self._items = []

        def push(self, item):
            self._items.append(item)

        def pop(self):
            if not self._items:
                raise IndexError("pop from empty stack")
            return self._items.pop()

        def peek(self):
            return self._items[-1]

        def __len__(self):
            return len(self._items)
''')

PLAYLIST = src('''
    class Playlist:
        def __init__(self, songs):
            self._songs = list(songs)

        def __len__(self):
            return len(self._songs)

        def __iter__(self):
            return iter(self._songs)

        def __getitem__(self, index):
            return self._songs[index]

        def __contains__(self, song):
            return song in self._songs
''')

COUNTDOWN = src('''
    class Countdown:
        def __init__(self, start):
            self.current = start

        def __iter__(self):
            return self

        def __next__(self):
            if self.current <= 0:
                raise StopIteration
            self.current -= 1
            return self.current + 1
''')

CARD = src('''
    class Card:
        def __init__(self, rank, suit):
            self.rank = rank
            self.suit = suit

        def __str__(self):
            return f"{self.rank}{self.suit}"

        def __repr__(self):
            return f"Card({self.rank!r}, {self.suit!r})"

        def __format__(self, spec):
            return format(str(self), spec)
''')

RESOURCE = src('''
    class Resource:
        def __init__(self, name, log):
            self.name = name
            self.log = log

        def __enter__(self):
            self.log(f"open {self.name}")
            return self

        def __exit__(self, exc_type, exc, tb):
            self.log(f"close {self.name}")
            return False
''')

VECTOR = src('''
    import math


    class Vector:
        def __init__(self, *components):
            self.components = tuple(components)

        def __add__(self, other):
            return Vector(*(a + b for a, b in zip(self.components, other.components)))

        def __mul__(self, k):
            return Vector(*(a * k for a in self.components))

        __rmul__ = __mul__

        def __matmul__(self, other):
            return sum(a * b for a, b in zip(self.components, other.components))

        def __abs__(self):
            return math.sqrt(sum(a * a for a in self.components))

        def __len__(self):
            return len(self.components)

        def __getitem__(self, i):
            return self.components[i]

        def as_tuple(self):
            return self.components
''')

TEMPERATURE = src('''
    class Temperature:
        def __init__(self, celsius):
            self.celsius = celsius

        @classmethod
        def from_fahrenheit(cls, f):
            return cls((f - 32) * 5 / 9)

        @staticmethod
        def c_to_f(c):
            return c * 9 / 5 + 32
''')

SHAPES = src('''
    import math
    from abc import ABC, abstractmethod


    class Shape(ABC):
        @abstractmethod
        def area(self):
            ...


    class Circle(Shape):
        def __init__(self, r):
            self.r = r

        def area(self):
            return math.pi * self.r ** 2


    class Square(Shape):
        def __init__(self, side):
            self.side = side

        def area(self):
            return self.side * self.side


    def make_shape(kind, size):
        return {"circle": Circle, "square": Square}[kind](size)


    def total_area(shapes):
        return sum(s.area() for s in shapes)
''')

EMPLOYEES = src('''
    class Employee:
        def __init__(self, name, salary):
            self.name = name
            self.salary = salary


    def staff():
        return [Employee("ann", 300), Employee("bob", 100), Employee("cy", 200)]


    def raise_all(people, percent):
        for p in people:
            p.salary = p.salary * (100 + percent) // 100
''')

CLASS_CASES = [
    Case("lru_cache_class", pytest_module('''
        from solution import LRUCache


        def test_is_an_instance_of_the_class():
            cache = LRUCache(2)
            assert isinstance(cache, LRUCache)
            assert type(cache) is LRUCache
            assert cache.capacity == 2


        def test_evicts_the_least_recently_used():
            cache = LRUCache(2)
            cache.put(1, "one")
            cache.put(2, "two")
            assert cache.get(1) == "one"
            cache.put(3, "three")
            assert cache.get(2) == -1
            assert cache.get(1) == "one"
            assert cache.get(3) == "three"


        def test_missing_key():
            assert LRUCache(1).get("nope") == -1
        '''), LRU, bug(LRU, "        self._data.move_to_end(key)\n        return self._data[key]",
                       "        return self._data[key]"), "'two'"),
    Case("identity_across_calls", pytest_module('''
        from solution import Connection, Registry


        def test_same_object_for_the_same_name():
            registry = Registry()
            first = registry.get("db")
            assert isinstance(first, Connection) and first.name == "db"
            assert registry.get("db") is first
            assert registry.get("cache") is not first


        def test_created_once():
            registry = Registry()
            registry.get("db")
            registry.get("db")
            assert registry.created == 1
        '''), REGISTRY, bug(REGISTRY, "        if name not in self._items:\n", "        if True:\n"), "2"),
    Case("attributes_and_properties", pytest_module('''
        import pytest

        from solution import Rectangle


        def test_attributes():
            r = Rectangle(3, 4)
            assert r.width == 3 and r.height == 4


        def test_property_follows_the_attributes():
            r = Rectangle(3, 4)
            assert r.area == 12
            r.width = 5
            assert r.area == 20
            r.height = 1
            assert r.area == 5


        def test_setter_validates():
            r = Rectangle(1, 1)
            with pytest.raises(ValueError, match="width"):
                r.width = -1
            assert r.width == 1
        '''), RECTANGLE, bug(RECTANGLE, "        self.height = height\n",
                             "        self.height = height\n        self.frozen_area = width * height\n").replace(
        "        return self.width * self.height", "        return self.frozen_area"), "12"),
    Case("test_class_with_setup_method", pytest_module('''
        import pytest

        from solution import Stack


        class TestStack:
            def setup_method(self):
                self.stack = Stack()

            def test_push_pop(self):
                self.stack.push(1)
                self.stack.push(2)
                assert self.stack.pop() == 2
                assert len(self.stack) == 1

            def test_empty_pop_raises(self):
                with pytest.raises(IndexError, match="empty"):
                    self.stack.pop()

            def test_peek_keeps_the_item(self):
                self.stack.push("x")
                assert self.stack.peek() == "x"
                assert len(self.stack) == 1
        '''), STACK, bug(STACK, "        return self._items[-1]", "        return self._items.pop()"), "0"),
    Case("sequence_protocol_class", pytest_module('''
        from solution import Playlist


        def test_protocol():
            p = Playlist(["a", "b", "c"])
            assert len(p) == 3
            assert list(p) == ["a", "b", "c"]
            assert p[0] == "a" and p[-1] == "c"
            assert p[1:] == ["b", "c"]
            assert "b" in p and "z" not in p
            assert [s.upper() for s in p] == ["A", "B", "C"]
            assert not Playlist([])
        '''), PLAYLIST, bug(PLAYLIST, "return iter(self._songs)", "return reversed(self._songs)"), "['c', 'b', 'a']"),
    Case("iterator_class", pytest_module('''
        from solution import Countdown


        def test_for_loop():
            seen = []
            for n in Countdown(3):
                seen.append(n)
            assert seen == [3, 2, 1]


        def test_next_and_exhaustion():
            c = Countdown(1)
            assert iter(c) is c
            assert next(c) == 1
            assert next(c, "done") == "done"
            assert list(Countdown(0)) == []
        '''), COUNTDOWN, bug(COUNTDOWN, "if self.current <= 0:", "if self.current < 0:"), "[3, 2, 1, 0]"),
    Case("str_repr_format", pytest_module('''
        from solution import Card


        def test_str_and_repr():
            card = Card("A", "S")
            assert str(card) == "AS"
            assert repr(card) == "Card('A', 'S')"
            assert f"[{card:>4}]" == "[  AS]"
            assert f"{card}" == "AS"
        '''), CARD, bug(CARD, 'return f"{self.rank}{self.suit}"', 'return f"{self.suit}{self.rank}"'), "'SA'"),
    Case("context_manager", pytest_module('''
        import pytest

        from solution import Resource


        def test_enter_and_exit():
            events = []
            with Resource("db", events.append) as r:
                assert r.name == "db"
                events.append("body")
            assert events == ["open db", "body", "close db"]


        def test_exit_runs_and_does_not_swallow():
            events = []
            with pytest.raises(KeyError):
                with Resource("x", events.append):
                    raise KeyError("k")
            assert events == ["open x", "close x"]
        '''), RESOURCE, bug(RESOURCE, "        return False", "        return True"), "DID NOT RAISE"),
    Case("operator_overloading", pytest_module('''
        from solution import Vector


        def test_add_and_scale():
            assert (Vector(1, 2) + Vector(3, 4)).as_tuple() == (4, 6)
            assert (Vector(1, 2) * 3).as_tuple() == (3, 6)
            assert (2 * Vector(1, 2)).as_tuple() == (2, 4)


        def test_plain_results():
            assert Vector(1, 2) @ Vector(3, 4) == 11
            assert abs(Vector(3, 4)) == 5.0
            assert len(Vector(1, 2, 3)) == 3
            assert Vector(1, 2)[1] == 2
        '''), VECTOR, bug(VECTOR, "return math.sqrt(sum(a * a for a in self.components))",
                          "return sum(a * a for a in self.components)"), "25"),
    Case("classmethod_staticmethod", pytest_module('''
        import pytest

        from solution import Temperature


        def test_classmethod_constructor():
            t = Temperature.from_fahrenheit(212)
            assert isinstance(t, Temperature)
            assert t.celsius == pytest.approx(100)


        def test_staticmethod():
            assert Temperature.c_to_f(0) == 32
            assert Temperature(0).c_to_f(100) == 212
        '''), TEMPERATURE, bug(TEMPERATURE, "(f - 32) * 5 / 9", "f - 32 * 5 / 9"), "194.2"),
    Case("inheritance_isinstance_base", pytest_module('''
        import math

        import pytest

        from solution import Circle, Shape, Square, make_shape, total_area


        def test_class_hierarchy():
            c = make_shape("circle", 1)
            assert isinstance(c, Shape) and isinstance(c, Circle)
            assert issubclass(Square, Shape)
            assert not isinstance(make_shape("square", 2), Circle)
            assert type(make_shape("square", 2)) is Square


        def test_polymorphic_area():
            assert total_area([make_shape("square", 2), make_shape("circle", 1)]) == pytest.approx(4 + math.pi)


        def test_abstract_base():
            with pytest.raises(TypeError):
                Shape()
        '''), SHAPES, bug(SHAPES, "return self.side * self.side", "return self.side * 4"), "11.14159"),
    Case("objects_sorted_and_mutated_by_the_test", pytest_module('''
        from solution import raise_all, staff


        def test_sorted_by_attribute():
            people = sorted(staff(), key=lambda e: e.salary)
            assert [e.name for e in people] == ["bob", "cy", "ann"]


        def test_mutates_the_objects():
            people = staff()
            raise_all(people, 10)
            assert [e.salary for e in people] == [330, 110, 220]
        '''), EMPLOYEES, bug(EMPLOYEES, "    for p in people:\n", "    for p in people[:1]:\n"),
        "[330, 100, 200]"),
]

# ---- arguments mutated in place ------------------------------------------------------------------------------

ROTATE = src('''
    def rotate(matrix):
        matrix[:] = [list(row) for row in zip(*matrix[::-1])]
''')

SORT_IN_PLACE = src('''
    def sort_in_place(items, key, reverse=False):
        items.sort(key=key, reverse=reverse)
''')

INVERT = src('''
    def invert_in_place(d):
        items = list(d.items())
        d.clear()
        d.update((v, k) for k, v in items)
''')

SORT_DICT = src('''
    def sort_dict_by_value(d):
        items = sorted(d.items(), key=lambda kv: kv[1])
        d.clear()
        d.update(items)
''')

ADD_EDGE = src('''
    def add_edge(graph, u, v):
        graph.setdefault(u, []).append(v)
''')

MUTATION_CASES = [
    Case("rotate_matrix_in_place", pytest_module('''
        from solution import rotate


        def test_two_by_two():
            m = [[1, 2], [3, 4]]
            alias = m
            assert rotate(m) is None
            assert m == [[3, 1], [4, 2]]
            assert alias is m


        def test_three_by_three():
            m = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
            rotate(m)
            assert m == [[7, 4, 1], [8, 5, 2], [9, 6, 3]]
        '''), ROTATE, bug(ROTATE, "zip(*matrix[::-1])]", "zip(*matrix)][::-1]"), "[[2, 4], [1, 3]]"),
    Case("sort_in_place_with_key_callables", pytest_module('''
        from solution import sort_in_place


        def test_people_by_age_with_a_lambda():
            people = [("ann", 31), ("bob", 25), ("cy", 40)]
            assert sort_in_place(people, key=lambda p: p[1]) is None
            assert people == [("bob", 25), ("ann", 31), ("cy", 40)]


        def test_key_len():
            words = ["ccc", "a", "bb"]
            sort_in_place(words, key=len)
            assert words == ["a", "bb", "ccc"]


        def test_reverse():
            numbers = [3, -1, 2]
            sort_in_place(numbers, key=abs, reverse=True)
            assert numbers == [3, 2, -1]
        '''), SORT_IN_PLACE, bug(SORT_IN_PLACE, "items.sort(key=key, reverse=reverse)", "items.sort(key=key)"),
        "[-1, 2, 3]"),
    Case("invert_dict_in_place", pytest_module('''
        from solution import invert_in_place


        def test_inverts_the_same_dict():
            d = {"a": 1, "b": 2}
            same = d
            invert_in_place(d)
            assert d is same
            assert d == {1: "a", 2: "b"}
        '''), INVERT, src('''
        def invert_in_place(d):
            return {v: k for k, v in d.items()}
        '''), "{'a': 1, 'b': 2}"),
    Case("reorder_dict_in_place", pytest_module('''
        from solution import sort_dict_by_value


        def test_reorders_keys_in_place():
            scores = {"ann": 3, "bob": 1, "cy": 2}
            sort_dict_by_value(scores)
            assert list(scores) == ["bob", "cy", "ann"]
            assert scores == {"ann": 3, "bob": 1, "cy": 2}
        '''), SORT_DICT, src('''
        def sort_dict_by_value(d):
            return dict(sorted(d.items(), key=lambda kv: kv[1]))
        '''), "['ann', 'bob', 'cy']"),
    Case("nested_lists_mutated_in_place", pytest_module('''
        from solution import add_edge


        def test_appends_to_the_inner_list():
            graph = {"a": ["b"]}
            inner = graph["a"]
            add_edge(graph, "a", "c")
            add_edge(graph, "c", "a")
            assert inner == ["b", "c"]
            assert graph == {"a": ["b", "c"], "c": ["a"]}
        '''), ADD_EDGE, bug(ADD_EDGE, "graph.setdefault(u, []).append(v)", "graph[u] = graph.get(u, []) + [v]"),
        "['b']"),
    Case("bytes_and_bytearray_in_place", pytest_module('''
        from solution import to_upper_in_place, xor_bytes


        def test_bytes_result():
            out = xor_bytes(b"\\x0f\\xf0", b"\\xff\\xff")
            assert out == b"\\xf0\\x0f"
            assert type(out) is bytes


        def test_bytearray_mutated():
            buf = bytearray(b"hello")
            to_upper_in_place(buf)
            assert buf == bytearray(b"HELLO")
        '''), src('''
        def xor_bytes(a, b):
            return bytes(x ^ y for x, y in zip(a, b))


        def to_upper_in_place(buf):
            buf[:] = buf.upper()
        '''), src('''
        def xor_bytes(a, b):
            return bytes(x ^ y for x, y in zip(a, b))


        def to_upper_in_place(buf):
            return buf.upper()
        '''), "bytearray(b'hello')"),
]

# ---- callables, callbacks and iterators handed to the candidate ----------------------------------------------

WALK = src('''
    def walk(tree, visit):
        for name, sub in tree.items():
            if visit(name) is False:
                continue
            walk(sub, visit)
''')

THERMOSTAT = src('''
    class Thermostat:
        def __init__(self, temperature):
            self.temperature = temperature
            self._observers = []

        def subscribe(self, observer):
            self._observers.append(observer)

        def set(self, temperature):
            old, self.temperature = self.temperature, temperature
            if old != temperature:
                for observer in self._observers:
                    observer.notify(old, temperature)
''')

PRIMES = src('''
    import itertools


    def primes():
        for n in itertools.count(2):
            if all(n % d for d in range(2, int(n ** 0.5) + 1)):
                yield n


    def fib():
        a, b = 0, 1
        while True:
            yield a
            a, b = b, a + b
''')

LAZY = src('''
    def running_total(numbers):
        total = 0
        for n in numbers:
            total += n
            yield total


    def first_over(numbers, threshold):
        for n in numbers:
            if n > threshold:
                return n
        return None
''')

CALLBACK_CASES = [
    Case("callback_collects_events", pytest_module('''
        from solution import walk


        def test_bound_method_of_a_test_list():
            events = []
            walk({"a": {"b": {}, "c": {}}}, events.append)
            assert events == ["a", "b", "c"]


        def test_return_value_of_the_callback_is_used():
            seen = []

            def visit(name):
                seen.append(name)
                return name != "b"

            walk({"a": {"b": {"x": {}}, "c": {}}}, visit)
            assert seen == ["a", "b", "c"]
        '''), WALK, bug(WALK, "        if visit(name) is False:\n            continue\n",
                        "        visit(name)\n"), "'x'"),
    Case("test_object_methods_called_by_candidate", pytest_module('''
        from solution import Thermostat


        class Recorder:
            def __init__(self):
                self.readings = []

            def notify(self, old, new):
                self.readings.append((old, new))


        def test_observer_notified_on_change_only():
            recorder = Recorder()
            t = Thermostat(20)
            t.subscribe(recorder)
            t.set(22)
            t.set(22)
            t.set(19)
            assert recorder.readings == [(20, 22), (22, 19)]
        '''), THERMOSTAT, bug(THERMOSTAT, "        if old != temperature:\n", "        if True:\n"),
        "(22, 22)"),
    Case("infinite_generators_with_islice", pytest_module('''
        import types
        from itertools import islice

        from solution import fib, primes


        def test_first_primes():
            assert list(islice(primes(), 10)) == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


        def test_next_by_next():
            g = fib()
            assert next(g) == 0
            assert next(g) == 1
            assert [next(g) for _ in range(5)] == [1, 2, 3, 5, 8]


        def test_is_a_generator():
            assert isinstance(primes(), types.GeneratorType)
        '''), PRIMES, bug(PRIMES, "itertools.count(2)", "itertools.count(1)"), "[1, 2, 3, 5"),
    Case("generators_passed_and_read_lazily", pytest_module('''
        import itertools

        from solution import first_over, running_total


        def numbers():
            yield from [1, 2, 3]


        def test_consumes_a_generator():
            assert list(running_total(numbers())) == [1, 3, 6]


        def test_endless_input():
            assert first_over(itertools.count(1), 10) == 11


        def test_stops_reading_early():
            pulled = []

            def source():
                for i in range(100):
                    pulled.append(i)
                    yield i

            assert first_over(source(), 3) == 4
            assert pulled == [0, 1, 2, 3, 4]
        '''), LAZY, bug(LAZY, "if n > threshold:", "if n >= threshold:"), "10"),
    Case("humaneval_check_with_callback", {"kind": "humaneval", "entry_point": "map_with", "source": src('''
        def check(candidate):
            calls = []
            result = candidate([3, 1, 2], lambda x: calls.append(x) or x * 10)
            assert result == [30, 10, 20]
            assert calls == [3, 1, 2]
            assert candidate([], str) == []
        ''')}, src('''
        def map_with(items, f):
            return [f(x) for x in items]
        '''), src('''
        def map_with(items, f):
            return [f(x) for x in sorted(items)]
        '''), "[10, 20, 30]"),
]

# ---- dataclasses, namedtuples, enums -------------------------------------------------------------------------

POINT = src('''
    from dataclasses import dataclass


    @dataclass(frozen=True)
    class Point:
        x: float
        y: float


    def midpoint(a, b):
        return Point((a.x + b.x) / 2, (a.y + b.y) / 2)
''')

ITEM = src('''
    from dataclasses import dataclass, field


    @dataclass
    class Item:
        name: str
        qty: int = 0
        tags: list = field(default_factory=list)


    def restock(item, amount):
        item.qty += amount


    def inventory():
        return [Item("apple", 3), Item("pear", 0, ["fruit"])]
''')

VERSION = src('''
    from dataclasses import dataclass


    @dataclass(order=True, frozen=True)
    class Version:
        major: int
        minor: int
        patch: int


    def parse_version(text):
        major, minor, patch = (int(part) for part in text.split("."))
        return Version(major, minor, patch)
''')

RANGE_NT = src('''
    from collections import namedtuple

    Range = namedtuple("Range", "lo hi")


    def min_max(values):
        return Range(min(values), max(values))
''')

COLOR = src('''
    import enum


    class Color(enum.Enum):
        RED = 1
        GREEN = 2
        BLUE = 3


    def parse_color(text):
        return Color[text.upper()]
''')

PRIORITY = src('''
    import enum


    class Priority(enum.IntEnum):
        LOW = 1
        MEDIUM = 2
        HIGH = 3


    def most_urgent(levels):
        return max(levels)
''')

DATA_CASES = [
    Case("frozen_dataclass_eq_hash", pytest_module('''
        import dataclasses

        import pytest

        from solution import Point, midpoint


        def test_midpoint():
            assert midpoint(Point(0, 0), Point(2, 4)) == Point(1, 2)
            assert Point(1, 2) != Point(2, 1)


        def test_frozen():
            p = Point(1, 2)
            with pytest.raises(dataclasses.FrozenInstanceError):
                p.x = 5


        def test_hashable():
            assert len({Point(1, 2), Point(1, 2)}) == 1
        '''), POINT, bug(POINT, "(a.y + b.y) / 2)", "(a.y + b.x) / 2)"), "Point(x=1.0, y=1.0)"),
    Case("mutable_dataclass_eq_repr", pytest_module('''
        from solution import Item, inventory, restock


        def test_restock_mutates_the_item():
            item = Item("apple", 3)
            restock(item, 5)
            assert item.qty == 8
            assert item == Item("apple", 8)


        def test_equality_is_by_fields():
            assert Item("pear", 1) != Item("pear", 2)
            assert inventory() == [Item("apple", 3), Item("pear", 0, ["fruit"])]
            assert repr(Item("fig")) == "Item(name='fig', qty=0, tags=[])"


        def test_the_test_changes_fields():
            item = Item("kiwi")
            item.qty = 2
            item.tags.append("green")
            assert item == Item("kiwi", 2, ["green"])
        '''), ITEM, bug(ITEM, "item.qty += amount", "item.qty = amount"), "5"),
    Case("dataclasses_module_helpers_and_match", pytest_module('''
        import dataclasses

        from solution import Item, Point, inventory, midpoint


        def test_asdict_astuple_fields():
            item = inventory()[1]
            assert dataclasses.is_dataclass(item) and dataclasses.is_dataclass(Item)
            assert [f.name for f in dataclasses.fields(item)] == ["name", "qty", "tags"]
            assert dataclasses.asdict(item) == {"name": "pear", "qty": 0, "tags": ["fruit"]}
            assert dataclasses.astuple(inventory()[0]) == ("apple", 3, [])
            assert [dataclasses.asdict(i)["qty"] for i in inventory()] == [3, 0]


        def test_replace_makes_a_new_object():
            item = inventory()[0]
            more = dataclasses.replace(item, qty=10)
            assert more == Item("apple", 10) and item.qty == 3 and more is not item


        def test_match_by_position():
            match midpoint(Point(0, 0), Point(2, 4)):
                case Point(x, y):
                    assert (x, y) == (1, 2)
                case _:
                    raise AssertionError("not a Point")
        '''), ITEM + "\n\n" + POINT.replace("from dataclasses import dataclass\n", ""),
        bug(ITEM, "Item(\"pear\", 0, [\"fruit\"])", "Item(\"pear\", 1, [\"fruit\"])") + "\n\n"
        + POINT.replace("from dataclasses import dataclass\n", ""), "'qty': 1"),
    Case("dataclass_order_true", pytest_module('''
        from solution import Version, parse_version


        def test_parse():
            v = parse_version("1.2.3")
            assert (v.major, v.minor, v.patch) == (1, 2, 3)
            assert v == Version(1, 2, 3)


        def test_ordering():
            assert parse_version("1.10.0") > parse_version("1.9.9")
            assert sorted(parse_version(s) for s in ["2.0.0", "1.0.0", "1.5.0"]) == [
                Version(1, 0, 0), Version(1, 5, 0), Version(2, 0, 0)]
            assert max(parse_version("0.1.0"), Version(0, 0, 9)) == Version(0, 1, 0)
        '''), VERSION, bug(VERSION, "return Version(major, minor, patch)", "return Version(major, minor, 0)"),
        "(1, 2, 0)"),
    Case("namedtuple_compared_with_tuples", pytest_module('''
        from solution import Range, min_max


        def test_namedtuple():
            r = min_max([3, 1, 2])
            assert r == (1, 3)
            assert r.lo == 1 and r.hi == 3
            assert isinstance(r, tuple) and isinstance(r, Range)
            lo, hi = r
            assert (lo, hi) == (1, 3)
            assert r == Range(1, 3)
        '''), RANGE_NT, bug(RANGE_NT, "Range(min(values), max(values))", "Range(max(values), min(values))"),
        "Range(lo=3, hi=1)"),
    Case("enum_members_is_and_eq", pytest_module('''
        from solution import Color, parse_color


        def test_identity():
            assert parse_color("red") is Color.RED
            assert parse_color("GREEN") is Color.GREEN


        def test_eq_and_fields():
            c = parse_color("blue")
            assert c == Color.BLUE
            assert c != Color.RED
            assert c.name == "BLUE" and c.value == 3
            assert isinstance(c, Color)
            assert list(Color) == [Color.RED, Color.GREEN, Color.BLUE]
            assert Color(2) is Color.GREEN
            assert list(Color.__members__) == ["RED", "GREEN", "BLUE"] and Color.__members__["RED"] is Color.RED
        '''), COLOR, bug(COLOR, "return Color[text.upper()]",
                         "return {'red': Color.RED, 'green': Color.GREEN, 'blue': Color.GREEN}[text.lower()]"),
        "Color.GREEN"),
    Case("intenum", pytest_module('''
        from solution import Priority, most_urgent


        def test_intenum_behaves_as_int():
            assert Priority.HIGH == 3
            assert Priority.LOW < Priority.HIGH
            assert most_urgent([Priority.LOW, Priority.HIGH, Priority.MEDIUM]) is Priority.HIGH
            assert most_urgent([1, 2]) == 2
            assert sorted([Priority.HIGH, Priority.LOW]) == [1, 3]
        '''), PRIORITY, bug(PRIORITY, "return max(levels)", "return min(levels)"), "Priority.LOW"),
]

# ---- exceptions ---------------------------------------------------------------------------------------------

ACCOUNT = src('''
    class InsufficientFunds(ValueError):
        def __init__(self, balance, amount):
            super().__init__(f"balance {balance}, requested {amount}")
            self.shortfall = amount - balance


    class Account:
        def __init__(self, balance):
            self.balance = balance

        def withdraw(self, amount):
            if amount > self.balance:
                raise InsufficientFunds(self.balance, amount)
            self.balance -= amount
''')

PORT = src('''
    class PortError(ValueError):
        pass


    def parse_port(text):
        try:
            port = int(text)
        except ValueError:
            raise PortError(f"not a number: {text}") from None
        if not 0 < port < 65536:
            raise PortError(f"out of range: {port}")
        return port
''')

SAFE_DIV = src('''
    class MathError(ArithmeticError):
        pass


    def safe_div(a, b):
        if b == 0:
            raise MathError("division by zero")
        return a / b
''')

EXCEPTION_CASES = [
    Case("custom_exception_class_and_attributes", pytest_module('''
        import pytest

        from solution import Account, InsufficientFunds


        def test_raises_their_error_with_match():
            with pytest.raises(InsufficientFunds, match=r"balance 10, requested 25"):
                Account(10).withdraw(25)


        def test_caught_by_the_builtin_base():
            with pytest.raises(ValueError):
                Account(10).withdraw(25)


        def test_exception_attributes():
            with pytest.raises(InsufficientFunds) as info:
                Account(10).withdraw(25)
            assert info.value.shortfall == 15
            assert isinstance(info.value, InsufficientFunds)
            assert info.type is InsufficientFunds


        def test_ok():
            account = Account(10)
            account.withdraw(4)
            assert account.balance == 6
        '''), ACCOUNT, bug(ACCOUNT, "self.shortfall = amount - balance", "self.shortfall = balance - amount"), "-15"),
    Case("exception_message_match", pytest_module('''
        import pytest

        from solution import PortError, parse_port


        def test_out_of_range():
            with pytest.raises(PortError, match="out of range: 70000"):
                parse_port("70000")


        def test_not_a_number_is_a_value_error():
            with pytest.raises(ValueError, match="not a number"):
                parse_port("abc")


        def test_good():
            assert parse_port("8080") == 8080
        '''), PORT, bug(PORT, 'f"out of range: {port}"', '"port out of range"'), "port out of range"),
    Case("exception_caught_in_the_test", pytest_module('''
        import pytest

        from solution import MathError, safe_div


        def test_try_except():
            try:
                safe_div(1, 0)
            except MathError as e:
                assert isinstance(e, ArithmeticError)
                assert e.args == ("division by zero",)
                assert str(e) == "division by zero"
            else:
                pytest.fail("no error raised")
            assert safe_div(1, 4) == 0.25
        '''), SAFE_DIV, bug(SAFE_DIV, 'MathError("division by zero")', 'MathError("cannot divide")'),
        "cannot divide"),
]

# ---- pytest features: parametrize, fixtures, marks, capture, monkeypatch, approx ------------------------------

FIZZBUZZ = src('''
    def fizzbuzz(n):
        if n % 15 == 0:
            return "FizzBuzz"
        if n % 3 == 0:
            return "Fizz"
        if n % 5 == 0:
            return "Buzz"
        return str(n)
''')

INVENTORY = src('''
    class Inventory:
        def __init__(self):
            self._counts = {}

        def add(self, name, n):
            self._counts[name] = self._counts.get(name, 0) + n

        def remove(self, name, n):
            self._counts[name] -= n

        def count(self, name):
            return self._counts.get(name, 0)

        def total(self):
            return sum(self._counts.values())
''')

WORD_FILE = src('''
    from collections import Counter


    def count_words_in_file(path):
        with open(path) as f:
            return dict(Counter(f.read().split()))
''')

SAVE_CSV = src('''
    import os


    def save_csv(path, rows):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("name,value\\n")
            for name, value in rows:
                f.write(f"{name},{value}\\n")
''')

FIND_CONFIG = src('''
    from pathlib import Path


    def find_config(start):
        for folder in [Path(start), *Path(start).parents]:
            candidate = folder / "setup.cfg"
            if candidate.exists():
                return candidate
        return None
''')

GREET = src('''
    import sys


    def greet(name):
        print(f"Hello, {name}!")


    def report(value):
        if value < 0:
            print(f"warning: negative value {value}", file=sys.stderr)
''')

SHOUT = src('''
    import os
    import sys


    def shout(text):
        print(text.upper())
        sys.stdout.flush()


    def beep():
        os.write(1, b"BEEP\\n")
        os.write(2, b"beep on stderr\\n")
''')

GREETING = src('''
    WORDS = {"en": "Hello", "fr": "Bonjour"}


    def greeting_for(name, settings):
        return f"{WORDS[settings.language]}, {name}"


    def greet_with(table, language, name):
        return f"{table[language]}, {name}"
''')

STATS = src('''
    import math


    def mean_and_std(values):
        mean = sum(values) / len(values)
        return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


    def normalize(weights):
        if isinstance(weights, dict):
            total = sum(weights.values())
            return {k: v / total for k, v in weights.items()}
        total = sum(weights)
        return [w / total for w in weights]
''')

PYTEST_FEATURE_CASES = [
    Case("parametrize_and_marks", pytest_module('''
        import pytest

        from solution import fizzbuzz


        @pytest.mark.parametrize("n, expected", [(1, "1"), (3, "Fizz"), (5, "Buzz"), (15, "FizzBuzz"), (98, "98")])
        def test_fizzbuzz(n, expected):
            assert fizzbuzz(n) == expected


        @pytest.mark.parametrize("n", range(1, 30, 7))
        def test_returns_a_string(n):
            assert isinstance(fizzbuzz(n), str)


        @pytest.mark.skip(reason="documents a case that is not checked here")
        def test_skipped():
            assert fizzbuzz(0) == "0"
        '''), FIZZBUZZ, bug(FIZZBUZZ, '    if n % 15 == 0:\n        return "FizzBuzz"\n', ""),
        "'Fizz'"),
    Case("own_fixtures", pytest_module('''
        import pytest

        from solution import Inventory


        @pytest.fixture
        def stocked():
            inventory = Inventory()
            inventory.add("apple", 3)
            inventory.add("pear", 2)
            yield inventory
            assert inventory.total() >= 0  # teardown runs after the test


        @pytest.fixture(params=[1, 2])
        def amount(request):
            return request.param


        def test_total(stocked):
            assert stocked.total() == 5


        def test_remove(stocked, amount):
            stocked.remove("apple", amount)
            expected = 3 - amount
            assert stocked.count("apple") == expected
        '''), INVENTORY, bug(INVENTORY, "self._counts[name] -= n", "self._counts[name] -= 1"), "2"),
    Case("tmp_path_file_read_by_candidate", pytest_module('''
        from solution import count_words_in_file


        def test_counts(tmp_path):
            p = tmp_path / "text.txt"
            p.write_text("the cat the hat\\nthe end\\n")
            assert count_words_in_file(p) == {"the": 3, "cat": 1, "hat": 1, "end": 1}


        def test_str_path(tmp_path):
            p = tmp_path / "empty.txt"
            p.write_text("")
            assert count_words_in_file(str(p)) == {}
        '''), WORD_FILE, bug(WORD_FILE, "f.read().split()", 'f.read().split(" ")'), "'the': 2"),
    Case("file_written_by_candidate", pytest_module('''
        from solution import save_csv


        def test_writes_csv(tmp_path):
            out = tmp_path / "out.csv"
            save_csv(out, [("a", 1), ("b", 2)])
            assert out.read_text() == "name,value\\na,1\\nb,2\\n"


        def test_creates_parent_folders(tmp_path):
            out = tmp_path / "sub" / "dir" / "x.csv"
            save_csv(str(out), [])
            assert out.exists()
            assert out.read_text() == "name,value\\n"
        '''), SAVE_CSV, bug(SAVE_CSV, 'f.write("name,value\\n")', 'f.write("name;value\\n")'), "name;value"),
    Case("pathlib_path_returned", pytest_module('''
        from pathlib import Path

        from solution import find_config


        def test_finds_the_nearest_config(tmp_path):
            (tmp_path / "setup.cfg").write_text("[x]\\n")
            deep = tmp_path / "a" / "b"
            deep.mkdir(parents=True)
            found = find_config(deep)
            assert isinstance(found, Path)
            assert found == tmp_path / "setup.cfg"
            assert found.read_text() == "[x]\\n"
        '''), FIND_CONFIG, bug(FIND_CONFIG, "[Path(start), *Path(start).parents]", "[Path(start)]"), "None"),
    Case("capsys_sees_candidate_prints", pytest_module('''
        from solution import greet, report


        def test_prints_greeting(capsys):
            greet("Ada")
            out, err = capsys.readouterr()
            assert out == "Hello, Ada!\\n"
            assert err == ""


        def test_warning_on_stderr(capsys):
            report(-1)
            captured = capsys.readouterr()
            assert captured.err == "warning: negative value -1\\n"
            assert captured.out == ""
        '''), GREET, bug(GREET, 'f"Hello, {name}!"', 'f"Hello {name}!"'), "Hello Ada"),
    Case("capfd_sees_candidate_output", pytest_module('''
        from solution import beep, shout


        def test_print(capfd):
            shout("hi")
            out, err = capfd.readouterr()
            assert out == "HI\\n"


        def test_raw_file_descriptors(capfd):
            beep()
            out, err = capfd.readouterr()
            assert out == "BEEP\\n"
            assert err == "beep on stderr\\n"
        '''), SHOUT, bug(SHOUT, "print(text.upper())", "print(text)"), "'hi"),
    Case("monkeypatch_of_the_tests_own_objects", pytest_module('''
        import types

        from solution import greet_with, greeting_for

        settings = types.SimpleNamespace(language="en")


        def test_default():
            assert greeting_for("Bo", settings) == "Hello, Bo"


        def test_patched_attribute(monkeypatch):
            monkeypatch.setattr(settings, "language", "fr")
            assert greeting_for("Bo", settings) == "Bonjour, Bo"


        def test_patched_item(monkeypatch):
            table = {"en": "Hello"}
            monkeypatch.setitem(table, "de", "Hallo")
            assert greet_with(table, "de", "Bo") == "Hallo, Bo"


        def test_patched_by_dotted_name(monkeypatch):
            monkeypatch.setattr(f"{__name__}.settings.language", "fr")
            assert greeting_for("Bo", settings) == "Bonjour, Bo"


        def test_undone_after_the_test():
            assert settings.language == "en"
        '''), GREETING, bug(GREETING, "WORDS[settings.language]", "WORDS['en']"), "'Hello, Bo'"),
    Case("pytest_approx", pytest_module('''
        from pytest import approx

        from solution import mean_and_std, normalize


        def test_stats():
            mean, std = mean_and_std([1, 2, 3, 4])
            assert mean == approx(2.5)
            assert std == approx(1.118033988, rel=1e-6)


        def test_normalize():
            assert normalize([1, 1, 2]) == approx([0.25, 0.25, 0.5])
            assert normalize({"a": 1, "b": 3}) == approx({"a": 0.25, "b": 0.75})
        '''), STATS, bug(STATS, "/ len(values))", "/ (len(values) - 1))"), "1.29099"),
]

# ---- values that cross by value -----------------------------------------------------------------------------

MOVING_AVERAGE = src('''
    import numpy as np


    def moving_average(values, window):
        return np.convolve(values, np.ones(window), "valid") / window
''')

ROWS = src('''
    import numpy as np


    def normalize_rows(m):
        return m / m.sum(axis=1, keepdims=True)


    def argmax_rows(m):
        return m.argmax(axis=1)
''')

NP_SCALARS = src('''
    def total(arr):
        return arr.sum()


    def peak(arr):
        return arr.max()
''')

DATES = src('''
    import datetime as dt


    def parse_date(text):
        return dt.date.fromisoformat(text)


    def add_business_days(day, n):
        while n > 0:
            day += dt.timedelta(days=1)
            if day.weekday() < 5:
                n -= 1
        return day
''')

DATETIMES = src('''
    def shift(moment, delta):
        return moment + delta


    def duration(start, end):
        return end - start
''')

SPLIT_BILL = src('''
    from decimal import ROUND_DOWN, Decimal


    def split_bill(total, n):
        base = (total / n).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        cents = int((total - base * n) / Decimal("0.01"))
        return [base + Decimal("0.01") if i < cents else base for i in range(n)]
''')

FRACTIONS = src('''
    import math
    from fractions import Fraction


    def harmonic(n):
        return sum(Fraction(1, k) for k in range(1, n + 1))


    def egyptian(fraction):
        parts = []
        while fraction > 0:
            unit = Fraction(1, math.ceil(1 / fraction))
            parts.append(unit)
            fraction -= unit
        return parts
''')

ROOTS = src('''
    import cmath


    def roots(a, b, c):
        d = cmath.sqrt(b * b - 4 * a * c)
        return (-b + d) / (2 * a), (-b - d) / (2 * a)
''')

EVENS = src('''
    def evens(n):
        return range(0, n, 2)


    def total_of(numbers):
        return sum(numbers)
''')

SETS = src('''
    def unique_words(text):
        return {w.lower() for w in text.split()}


    def anagram_groups(words):
        groups = {}
        for w in words:
            groups.setdefault("".join(sorted(w)), set()).add(w)
        return {frozenset(g) for g in groups.values()}
''')

COLLECTIONS = src('''
    from collections import Counter, defaultdict, deque


    def letter_counts(text):
        return Counter(text)


    def index_by_first(words):
        index = defaultdict(list)
        for w in words:
            index[w[0]].append(w)
        return index


    def last_n(items, n):
        return deque(items, maxlen=n)
''')

VALUE_CASES = [
    Case("numpy_arrays", pytest_module('''
        import numpy as np

        from solution import moving_average


        def test_type_dtype_shape():
            out = moving_average(np.array([1, 2, 3, 4, 5]), 3)
            assert isinstance(out, np.ndarray)
            assert out.dtype == np.float64
            assert out.shape == (3,)


        def test_values():
            out = moving_average(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 2)
            assert out.shape == (4,)
            assert np.allclose(out, [1.5, 2.5, 3.5, 4.5])
            np.testing.assert_array_equal(moving_average(np.arange(4), 4), np.array([1.5]))
        '''), MOVING_AVERAGE, bug(MOVING_AVERAGE, '"valid"', '"same"'), "(5,)"),
    Case("numpy_2d_dtype_kept", pytest_module('''
        import numpy as np

        from solution import argmax_rows, normalize_rows


        def test_rows_normalized_in_float32():
            m = np.array([[1, 1], [1, 3]], dtype=np.float32)
            out = normalize_rows(m)
            assert out.dtype == np.float32
            assert out.shape == (2, 2)
            np.testing.assert_allclose(out, [[0.5, 0.5], [0.25, 0.75]])


        def test_integer_indices():
            idx = argmax_rows(np.array([[1, 9, 2], [7, 0, 1]]))
            assert idx.tolist() == [1, 0]
            assert idx.dtype.kind == "i"
        '''), ROWS, bug(ROWS, "return m / m.sum(axis=1, keepdims=True)",
                        "return m.astype(np.float64) / m.sum(axis=1, keepdims=True)"), "float64"),
    Case("numpy_scalars", pytest_module('''
        import numpy as np

        from solution import peak, total


        def test_integer_scalar():
            t = total(np.array([1, 2, 3], dtype=np.int64))
            assert t == 6
            assert isinstance(t, np.integer)
            assert t + 1 == 7


        def test_float_scalar():
            p = peak(np.array([0.5, 2.5, 1.0]))
            assert isinstance(p, np.floating)
            assert p == 2.5
        '''), NP_SCALARS, bug(NP_SCALARS, "return arr.sum()", "return int(arr[1:].sum())"), "5"),
    Case("dates_returned_and_passed", pytest_module('''
        import datetime as dt

        from solution import add_business_days, parse_date


        def test_parse_returns_a_date():
            d = parse_date("2024-02-29")
            assert d == dt.date(2024, 2, 29)
            assert type(d) is dt.date


        def test_date_passed_in():
            assert add_business_days(dt.date(2024, 3, 1), 1) == dt.date(2024, 3, 4)  # Friday -> Monday
        '''), DATES, src('''
        import datetime as dt


        def parse_date(text):
            return dt.date.fromisoformat(text)


        def add_business_days(day, n):
            return day + dt.timedelta(days=n)
        '''), "2024, 3, 2"),
    Case("datetime_and_timedelta", pytest_module('''
        import datetime as dt

        from solution import duration, shift


        def test_shift():
            start = dt.datetime(2024, 1, 1, 23, 30)
            assert shift(start, dt.timedelta(minutes=45)) == dt.datetime(2024, 1, 2, 0, 15)


        def test_duration():
            d = duration(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2, 6))
            assert d == dt.timedelta(hours=30)
            assert isinstance(d, dt.timedelta)
        '''), DATETIMES, bug(DATETIMES, "return end - start", "return (end - start).total_seconds()"),
        "108000.0"),
    Case("decimal", pytest_module('''
        from decimal import Decimal

        from solution import split_bill


        def test_exact_cents():
            shares = split_bill(Decimal("100.00"), 3)
            assert shares == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
            assert sum(shares) == Decimal("100.00")
            assert all(isinstance(s, Decimal) for s in shares)
        '''), SPLIT_BILL, bug(SPLIT_BILL, "if i < cents else base", "if i < 0 else base"),
        "[Decimal('33.33'), Decimal('33.33'), Decimal('33.33')]"),
    Case("fraction", pytest_module('''
        from fractions import Fraction

        from solution import egyptian, harmonic


        def test_harmonic_is_exact():
            assert harmonic(4) == Fraction(25, 12)
            assert isinstance(harmonic(1), Fraction)


        def test_fraction_passed_in():
            assert egyptian(Fraction(4, 13)) == [Fraction(1, 4), Fraction(1, 18), Fraction(1, 468)]
        '''), FRACTIONS, bug(FRACTIONS, "range(1, n + 1)", "range(1, n)"), "Fraction(11, 6)"),
    Case("complex_numbers", pytest_module('''
        from solution import roots


        def test_complex_roots():
            r1, r2 = roots(1, 0, 1)
            assert {r1, r2} == {1j, -1j}
            assert isinstance(r1, complex)


        def test_real_roots_as_complex():
            assert sorted(roots(1, -3, 2), key=lambda z: z.real) == [1 + 0j, 2 + 0j]
        '''), ROOTS, bug(ROOTS, "(-b - d) / (2 * a)", "(-b + d) / (2 * a)"), "{1j}"),
    Case("range_returned_and_passed", pytest_module('''
        from solution import evens, total_of


        def test_range_returned():
            r = evens(10)
            assert isinstance(r, range)
            assert r == range(0, 10, 2)
            assert list(r) == [0, 2, 4, 6, 8]
            assert len(r) == 5 and r[-1] == 8


        def test_range_passed():
            assert total_of(range(5)) == 10
        '''), EVENS, bug(EVENS, "range(0, n, 2)", "range(0, n + 1, 2)"), "range(0, 11, 2)"),
    Case("sets_and_frozensets", pytest_module('''
        from solution import anagram_groups, unique_words


        def test_set_returned():
            assert unique_words("A a b") == {"a", "b"}
            assert isinstance(unique_words(""), set)


        def test_set_of_frozensets():
            assert anagram_groups(["ab", "ba", "cd"]) == {frozenset({"ab", "ba"}), frozenset({"cd"})}
            assert anagram_groups(frozenset({"x"})) == {frozenset({"x"})}
        '''), SETS, bug(SETS, "w.lower() for w", "w for w"), "'A'"),
    Case("counter_defaultdict_deque", pytest_module('''
        from collections import Counter, defaultdict, deque

        from solution import index_by_first, last_n, letter_counts


        def test_counter():
            c = letter_counts("banana")
            assert c == Counter({"a": 3, "n": 2, "b": 1})
            assert isinstance(c, Counter)
            assert c.most_common(1) == [("a", 3)]


        def test_defaultdict():
            d = index_by_first(["apple", "avocado", "bean"])
            assert isinstance(d, defaultdict)
            assert d == {"a": ["apple", "avocado"], "b": ["bean"]}
            assert d["z"] == []


        def test_deque():
            q = last_n([1, 2, 3, 4, 5], 3)
            assert q == deque([3, 4, 5])
            assert q.maxlen == 3
        '''), COLLECTIONS, bug(COLLECTIONS, "deque(items, maxlen=n)", "deque(items[-n:])"), "None"),
]

# ---- module level, recursion, the other test forms ------------------------------------------------------------

CONSTANTS = src('''
    VERSION = "1.2.0"
    MAX_RETRIES = 5
    DEFAULTS = {"timeout": 30, "verbose": False}


    def backoff(attempt):
        return 2 ** attempt
''')

FLATTEN = src('''
    def flatten(items):
        out = []
        for item in items:
            if isinstance(item, list):
                out.extend(flatten(item))
            else:
                out.append(item)
        return out


    def permutations(s):
        if len(s) <= 1:
            return [s]
        return [c + p for i, c in enumerate(s) for p in permutations(s[:i] + s[i + 1:])]
''')

MBPP = src('''
    import math


    def circle_area(r):
        return math.pi * r * r


    def sort_by(items, key):
        return sorted(items, key=key)


    class Stack:
        def __init__(self):
            self.items = []

        def is_empty(self):
            return not self.items
''')

MIN_QUEUE = src('''
    import heapq


    class MinQueue:
        def __init__(self):
            self._heap = []

        def push(self, value):
            heapq.heappush(self._heap, value)

        def pop(self):
            return heapq.heappop(self._heap)

        def __len__(self):
            return len(self._heap)
''')

OTHER_CASES = [
    Case("module_level_constants", pytest_module('''
        import solution
        from solution import DEFAULTS, MAX_RETRIES, backoff


        def test_constants():
            assert MAX_RETRIES == 5
            assert DEFAULTS == {"timeout": 30, "verbose": False}
            assert solution.VERSION == "1.2.0"


        def test_backoff_uses_the_constant():
            assert [backoff(i) for i in range(MAX_RETRIES)] == [1, 2, 4, 8, 16]
        '''), CONSTANTS, bug(CONSTANTS, "MAX_RETRIES = 5", "MAX_RETRIES = 4"), "4"),
    Case("recursion", pytest_module('''
        from solution import flatten, permutations


        def test_flatten():
            assert flatten([1, [2, [3, [4]], 5]]) == [1, 2, 3, 4, 5]


        def test_deeply_nested_argument():
            nested = []
            current = nested
            for i in range(200):
                inner = [i]
                current.append(inner)
                current = inner
            assert flatten(nested) == list(range(200))


        def test_permutations():
            assert sorted(permutations("abc")) == ["abc", "acb", "bac", "bca", "cab", "cba"]
        '''), FLATTEN, bug(FLATTEN, "out.extend(flatten(item))", "out.extend(item)"), "[3, [4]]"),
    Case("asserts_mbpp_style", {"kind": "asserts", "setup": "import math", "asserts": [
        "assert math.isclose(circle_area(2), 12.566, rel_tol=1e-3)",
        "assert sort_by(['bb', 'a', 'ccc'], len) == ['a', 'bb', 'ccc']",
        "assert isinstance(Stack(), Stack)",
        "assert Stack().is_empty() is True",
    ]}, MBPP, bug(MBPP, "sorted(items, key=key)", "sorted(items, key=key, reverse=True)"), "['ccc', 'bb', 'a']"),
    Case("humaneval_check_with_a_class", {"kind": "humaneval", "entry_point": "MinQueue", "source": src('''
        def check(candidate):
            queue = candidate()
            assert isinstance(queue, candidate)
            for value in (4242, 10, 30):
                queue.push(value)
            assert len(queue) == 3
            assert queue.pop() == 10
            assert queue.pop() == 30
        ''')}, MIN_QUEUE, bug(MIN_QUEUE, "return heapq.heappop(self._heap)",
                              "return self._heap.pop(self._heap.index(max(self._heap)))"), "4242"),
]

# ---- whole programs on stdin/stdout ---------------------------------------------------------------------------

SUM_STDIN = src('''
    import sys

    data = sys.stdin.read().split()
    n = int(data[0])
    print(sum(int(x) for x in data[1:1 + n]), end=" \\n")
''')

HELLO_LOOP = src('''
    def main():
        n = int(input())
        for _ in range(n):
            name = input().strip()
            print(f"Hello, {name}!")


    if __name__ == "__main__":
        main()
''')

RATIOS = src('''
    while True:
        try:
            line = input()
        except EOFError:
            break
        if line.strip():
            a, b = map(int, line.split())
            print(a / b)
''')

STDIO_CASES = [
    Case("stdio_read_all_of_stdin_whitespace", {"kind": "stdio", "compare": "whitespace", "cases": [
        {"stdin": "3\n100 200 300\n", "stdout": "600\n"},
        {"stdin": "2\n5 -5\n", "stdout": "0"},
    ]}, SUM_STDIN, bug(SUM_STDIN, "data[1:1 + n]", "data"), "603"),
    Case("stdio_input_loop_exact", {"kind": "stdio", "compare": "exact", "cases": [
        {"stdin": "3\nalice\nbob\ncarol\n", "stdout": "Hello, alice!\nHello, bob!\nHello, carol!\n"},
        {"stdin": "0\n", "stdout": ""},
    ]}, HELLO_LOOP, bug(HELLO_LOOP, 'f"Hello, {name}!"', 'f"Hello {name}!"'), "Hello alice"),
    Case("stdio_tokens_with_float_tolerance", {"kind": "stdio", "compare": "tokens", "atol": 1e-5, "rtol": 1e-9,
                                               "cases": [
        {"stdin": "1 3\n5 2\n", "stdout": "0.333333\n2.5\n"},
        {"stdin": "7 7\n\n", "stdout": "1"},
    ]}, RATIOS, bug(RATIOS, "print(a / b)", "print(b / a)"), "3.0"),
]

# ---- state the tests set in their own process: environment, working directory, argv, random seed ------------------

DICE = src('''
    import random

    import numpy as np


    def roll(n):
        return [random.randint(1, 6) for _ in range(n)]


    def noise(n):
        return np.random.rand(n)
''')

SETTINGS = src('''
    import os
    import sys


    def debug_enabled():
        return os.environ.get("APP_DEBUG") == "1"


    def save(name, text):
        with open(name, "w") as f:
            f.write(text)


    def main(argv=None):
        argv = sys.argv[1:] if argv is None else argv
        return sum(int(a) for a in argv)
''')

ORDERS = src('''
    import logging

    log = logging.getLogger("shop.orders")


    def place(qty):
        log.debug("checking %d", qty)
        if qty <= 0:
            log.warning("rejected order of %d", qty)
            return False
        log.info("placed order of %d", qty)
        return True
''')

REPORT = src('''
    import csv


    def write_rows(rows, out):
        for name, qty in rows:
            print(f"{name}: {qty}", file=out)


    def write_csv(rows, out):
        writer = csv.writer(out)
        writer.writerow(["name", "qty"])
        writer.writerows(rows)


    def count_words(f):
        return sum(len(line.split()) for line in f)


    def first_bytes(f, n):
        return f.read(n)
''')

TOOLS = src('''
    import os
    import subprocess
    import time


    def stamp():
        return int(time.time())


    def retry(fn, times=3, delay=10):
        for _ in range(times):
            try:
                return fn()
            except ValueError:
                time.sleep(delay)
        raise ValueError("gave up")


    def config_path():
        return "/etc/app.conf" if os.path.exists("/etc/app.conf") else "default"


    def git_branch():
        out = subprocess.run(["git", "branch", "--show-current"], capture_output=True, text=True)
        return out.stdout.strip()


    def first_line(path):
        with open(path) as f:
            return f.readline().strip()
''')

NODE = src('''
    class Node:
        def __init__(self, value, children=None):
            self.value = value
            self.children = children or []


    def tree():
        return Node(1, [Node(2), Node(3)])
''')

GEOMETRY = src('''
    from array import array
    from decimal import Decimal


    class Rect:
        def __init__(self, width: float, height: float = 1.0):
            self.width, self.height = width, height


    def area(width: float, height: float = 1.0, *, unit: str = "m") -> float:
        """Area of a rectangle."""
        return width * height


    def evens(n):
        return array("i", range(0, n, 2))


    def third():
        return Decimal(1) / Decimal(3)
''')

SHOP = src('''
    import threading


    class Cart:
        def __init__(self):
            self.items = []

        def tax_rate(self):
            return 0.2

        def total(self):
            return round(sum(self.items) * (1 + self.tax_rate()), 2)


    class Counter:
        def __init__(self):
            self.n = 0
            self._lock = threading.Lock()

        def inc(self):
            with self._lock:
                self.n += 1


    def square(x):
        return x * x
''')

TEMPLATE = src('''
    from abc import ABC, abstractmethod


    class Shape(ABC):
        def __init__(self, name):
            self.name = name

        @abstractmethod
        def area(self):
            ...

        def label(self):
            return self.name.upper()

        def describe(self):
            return f"{self.label()}: {self.area()}"


    def largest(shapes):
        return max(shapes, key=lambda s: s.area()).name
''')

FETCHER = src('''
    import asyncio


    async def fetch(x):
        await asyncio.sleep(0)
        return x * 2


    async def fetch_all(xs):
        return list(await asyncio.gather(*(fetch(x) for x in xs)))
''')

SAMPLER = src('''
    import numpy as np


    def noisy(xs, rng):
        return np.asarray(xs, dtype=float) + rng.normal(0, 1, size=len(xs))


    def split(n, rng):
        order = rng.permutation(n)
        return order[: n // 2].tolist(), order[n // 2:].tolist()


    def legacy(state):
        return state.rand(2)
''')

CONFIG = src('''
    class ConfigError(Exception):
        def __init__(self, key, reason):
            super().__init__(f"{key}: {reason}")
            self.key = key


    def load(settings, key):
        try:
            return settings[key]
        except KeyError as exc:
            raise ConfigError(key, "missing") from exc


    def parse(text):
        try:
            return int(text)
        except ValueError:
            raise TypeError("not a number")


    def check_all(values):
        errors = [ValueError(f"bad {v}") for v in values if v < 0]
        if errors:
            error = ExceptionGroup("invalid values", errors)
            error.add_note(f"{len(errors)} of {len(values)}")
            raise error
''')

STATE_CASES = [
    Case("exception_chains_notes_and_groups", pytest_module('''
        import pytest

        from solution import ConfigError, check_all, load, parse


        def test_raise_from():
            with pytest.raises(ConfigError, match="port: missing") as info:
                load({}, "port")
            assert info.value.key == "port" and isinstance(info.value.__cause__, KeyError)


        def test_raised_while_handling():
            with pytest.raises(TypeError) as info:
                parse("x")
            assert isinstance(info.value.__context__, ValueError) and info.value.__cause__ is None


        def test_group_with_a_note():
            with pytest.raises(ExceptionGroup) as info:
                check_all([1, -2, -3])
            assert [str(e) for e in info.value.exceptions] == ["bad -2", "bad -3"]
            assert info.value.__notes__ == ["2 of 3"]
        '''), CONFIG, bug(CONFIG, 'error.add_note(f"{len(errors)} of {len(values)}")',
                           'error.add_note(f"{len(errors)} of {len(values) + 1}")'), "2 of 4"),

    Case("numpy_generators_handed_to_the_program", pytest_module('''
        import numpy as np

        from solution import legacy, noisy, split


        def test_the_program_draws_from_the_tests_stream():
            rng = np.random.default_rng(0)
            out = noisy([1, 2, 3], rng)
            reference = np.random.default_rng(0)
            assert out.tolist() == (np.array([1.0, 2.0, 3.0]) + reference.normal(0, 1, size=3)).tolist()
            assert rng.random() == reference.random()


        def test_split_and_legacy_state():
            first, second = split(10, np.random.default_rng(2))
            assert sorted(first + second) == list(range(10)) and len(first) == 5
            assert legacy(np.random.RandomState(0)).tolist() == np.random.RandomState(0).rand(2).tolist()
        '''), SAMPLER, bug(SAMPLER, "return order[: n // 2].tolist(), order[n // 2:].tolist()",
                            "return order[: n // 2].tolist(), order[n // 2 + 1:].tolist()"), "len(first) == 5"),

    Case("async_tests", pytest_module('''
        import asyncio

        import pytest

        from solution import fetch, fetch_all


        @pytest.mark.asyncio
        async def test_await_the_program():
            assert await fetch(3) == 6


        async def test_gather_with_a_fixture(tmp_path):
            assert await fetch_all([1, 2]) == [2, 4] and tmp_path.exists()


        async def test_the_tests_own_tasks():
            assert await asyncio.gather(fetch(1), asyncio.sleep(0, "x")) == [2, "x"]
        '''), FETCHER, bug(FETCHER, "return x * 2", "return x * 3"), "left 9"),

    Case("test_classes_deriving_from_the_program", pytest_module('''
        import pytest

        from solution import Shape, largest


        class Square(Shape):
            sides = 4

            def __init__(self, side):
                super().__init__("square")
                self.side = side

            def area(self):
                return self.side ** 2

            def label(self):
                return "a " + super().label()


        class Cube(Square):
            def area(self):
                return 6 * self.side ** 2


        def test_template_method_calls_the_tests_overrides():
            sq = Square(3)
            assert sq.describe() == "a SQUARE: 9" and sq.side == 3 and sq.name == "square"
            assert isinstance(sq, Square) and isinstance(sq, Shape) and sq.sides == 4


        def test_deeper_and_handed_back():
            shapes = [Square(2), Cube(1), Square(1)]
            assert Cube(1).describe() == "a SQUARE: 6"
            assert largest(shapes) == "square" and max(shapes, key=lambda s: s.area()) is shapes[1]


        def test_abstract_base_still_abstract():
            with pytest.raises(TypeError):
                Shape("x")
        '''), TEMPLATE, bug(TEMPLATE, 'f"{self.label()}: {self.area()}"', 'f"{self.label()}: {self.name}"'),
        "a SQUARE: square"),

    Case("methods_patched_and_threads_in_the_tests", pytest_module('''
        import threading
        from concurrent.futures import ThreadPoolExecutor
        from unittest import mock

        from solution import Cart, Counter, square


        def test_method_patched_then_undone(monkeypatch):
            monkeypatch.setattr(Cart, "tax_rate", lambda self: 0.0)
            cart = Cart()
            cart.items += [10, 5]
            assert cart.total() == 15 and cart.tax_rate() == 0.0
            monkeypatch.undo()
            assert cart.total() == 18.0


        def test_class_attribute_added_then_removed(monkeypatch):
            monkeypatch.setattr(Cart, "currency", "EUR", raising=False)
            assert Cart.currency == "EUR"
            monkeypatch.undo()
            assert not hasattr(Cart, "currency")


        def test_mock_patch_object():
            with mock.patch.object(Cart, "tax_rate", return_value=0.5):
                cart = Cart()
                cart.items.append(2)
                assert cart.total() == 3.0
            assert Cart().tax_rate() == 0.2


        def test_threads_call_the_program():
            with ThreadPoolExecutor(4) as pool:
                assert list(pool.map(square, range(40))) == [x * x for x in range(40)]
            counter = Counter()
            threads = [threading.Thread(target=lambda: [counter.inc() for _ in range(50)]) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert counter.n == 200
        '''), SHOP, bug(SHOP, "return x * x", "return x * x + (x == 39)"), "1522"),

    Case("signature_array_and_decimal_context", pytest_module('''
        import decimal
        import inspect
        from array import array
        from decimal import Decimal

        from solution import Rect, area, evens, third


        def test_signature():
            sig = inspect.signature(area)
            assert list(sig.parameters) == ["width", "height", "unit"]
            assert sig.parameters["height"].default == 1.0
            assert sig.parameters["unit"].kind is inspect.Parameter.KEYWORD_ONLY
            assert sig.return_annotation is float and area.__name__ == "area"
            assert list(inspect.signature(Rect).parameters) == ["width", "height"]


        def test_array():
            assert evens(7) == array("i", [0, 2, 4, 6])
            assert evens(7).typecode == "i"


        def test_decimal_precision_of_the_test():
            with decimal.localcontext() as ctx:
                ctx.prec = 5
                assert third() == Decimal("0.33333")
            assert third() == Decimal(1) / Decimal(3)
        '''), GEOMETRY, bug(GEOMETRY, "range(0, n, 2)", "range(1, n, 2)"), "array('i', [1, 3, 5])"),

    Case("vars_and_dict_of_a_program_object", pytest_module('''
        import copy

        from solution import tree


        def test_vars():
            leaf = tree().children[1]
            assert vars(leaf) == {"value": 3, "children": []}
            assert leaf.__dict__["value"] == 3 and sorted(vars(tree())) == ["children", "value"]


        def test_changes_through_dict_reach_the_object():
            leaf = tree().children[0]
            leaf.__dict__["value"] = 9
            assert leaf.value == 9


        def test_deepcopy_is_independent():
            t = tree()
            c = copy.deepcopy(t)
            c.children[0].value = 99
            assert t.children[0].value == 2
        '''), NODE, bug(NODE, "Node(3)]", "Node(4)]"), "'value': 4"),

    Case("library_functions_patched_by_the_tests", pytest_module('''
        import os
        import subprocess
        import time
        from types import SimpleNamespace
        from unittest import mock

        from solution import config_path, first_line, git_branch, retry, stamp


        def test_monkeypatched_clock_then_undone(monkeypatch):
            monkeypatch.setattr(time, "time", lambda: 1234.5)
            assert stamp() == 1234
            monkeypatch.undo()
            assert stamp() > 1_600_000_000


        def test_dotted_name(monkeypatch):
            monkeypatch.setattr("os.path.exists", lambda path: path == "/etc/app.conf")
            assert config_path() == "/etc/app.conf"


        @mock.patch("time.sleep")
        def test_mock_patch_decorator(sleep):
            attempts = iter([ValueError(), 7])

            def flaky():
                x = next(attempts)
                if isinstance(x, Exception):
                    raise x
                return x

            assert retry(flaky) == 7
            sleep.assert_called_once_with(10)


        def test_fake_subprocess(monkeypatch):
            calls = []

            def fake_run(cmd, **kwargs):
                calls.append(cmd)
                return SimpleNamespace(stdout="main\\n", returncode=0)

            monkeypatch.setattr(subprocess, "run", fake_run)
            assert git_branch() == "main"
            assert calls == [["git", "branch", "--show-current"]]


        def test_mock_open():
            with mock.patch("builtins.open", mock.mock_open(read_data="hello\\nworld\\n")) as opened:
                assert first_line("notes.txt") == "hello"
            opened.assert_called_once_with("notes.txt")
            assert not os.path.exists("notes.txt")


        def test_the_judges_own_json_is_left_alone(monkeypatch):
            import json

            def refuse(*args, **kwargs):
                raise TypeError("not today")

            monkeypatch.setattr(json, "dumps", refuse)
            monkeypatch.setattr(json, "loads", refuse)
            assert config_path() == "default" and stamp() > 0
        '''), TOOLS, bug(TOOLS, "return out.stdout.strip()", "return out.stdout"), "'main\\n'"),

    Case("streams_of_the_tests_used_as_files", pytest_module('''
        import io

        from solution import count_words, first_bytes, write_csv, write_rows


        def test_print_to_a_stringio():
            buf = io.StringIO()
            write_rows([("apple", 3), ("pear", 1)], buf)
            assert buf.getvalue() == "apple: 3\\npear: 1\\n"


        def test_csv_writer():
            buf = io.StringIO()
            write_csv([("fig", 2)], buf)
            assert buf.getvalue().splitlines() == ["name,qty", "fig,2"]


        def test_reading_lines_and_bytes():
            assert count_words(io.StringIO("a b\\nc\\n")) == 3
            assert first_bytes(io.BytesIO(b"abcdef"), 3) == b"abc"


        def test_a_file_the_test_opened(tmp_path):
            path = tmp_path / "words.txt"
            path.write_text("one two\\nthree\\n")
            with open(path) as f:
                assert count_words(f) == 3
            with open(tmp_path / "out.txt", "w") as f:
                write_rows([("kiwi", 5)], f)
            assert (tmp_path / "out.txt").read_text() == "kiwi: 5\\n"
        '''), REPORT, bug(REPORT, 'print(f"{name}: {qty}", file=out)', 'print(f"{name}={qty}", file=out)'),
        "apple=3"),

    Case("program_logs_seen_by_caplog", pytest_module('''
        import logging

        from solution import place


        def test_warning_captured_by_default(caplog):
            assert not place(0)
            assert caplog.record_tuples == [("shop.orders", logging.WARNING, "rejected order of 0")]


        def test_info_with_at_level(caplog):
            with caplog.at_level(logging.INFO):
                assert place(2)
            assert "placed order of 2" in caplog.text
            assert [r.levelname for r in caplog.records] == ["INFO"]


        def test_debug_for_one_logger(caplog):
            caplog.set_level(logging.DEBUG, logger="shop")
            place(3)
            assert [r.getMessage() for r in caplog.records] == ["checking 3", "placed order of 3"]


        def test_nothing_below_the_level(caplog):
            place(4)
            assert caplog.records == []
        '''), ORDERS, bug(ORDERS, 'log.warning("rejected order of %d", qty)', 'log.warning("rejected %d", qty)'),
        "rejected 0"),

    Case("random_seeded_by_the_test", pytest_module('''
        import random

        import numpy as np

        from solution import noise, roll


        def test_same_seed_same_rolls():
            random.seed(7)
            expected = [random.randint(1, 6) for _ in range(5)]
            random.seed(7)
            assert roll(5) == expected


        def test_state_restored():
            random.seed(1)
            state = random.getstate()
            first = roll(3)
            random.setstate(state)
            assert roll(3) == first


        def test_numpy_global_seed():
            np.random.seed(0)
            expected = np.random.rand(3)
            np.random.seed(0)
            assert noise(3).tolist() == expected.tolist()
        '''), DICE, bug(DICE, "return np.random.rand(n)", "return np.random.rand(n)[::-1]"), "0.6027633760716439"),
    Case("environment_cwd_and_argv_set_by_the_test", pytest_module('''
        import sys

        from solution import debug_enabled, main, save


        def test_setenv(monkeypatch):
            monkeypatch.setenv("APP_DEBUG", "1")
            assert debug_enabled()
            monkeypatch.delenv("APP_DEBUG")
            assert not debug_enabled()


        def test_relative_path_in_the_tests_directory(tmp_path, monkeypatch):
            monkeypatch.chdir(tmp_path)
            save("out.txt", "hello")
            assert (tmp_path / "out.txt").read_text() == "hello"


        def test_argv(monkeypatch):
            assert main(["1", "2"]) == 3
            monkeypatch.setattr(sys, "argv", ["prog", "4", "5"])
            assert main() == 9
        '''), SETTINGS, bug(SETTINGS, "f.write(text)", "f.write(text.upper())"), "'HELLO'"),
]

CASES = (CLASS_CASES + MUTATION_CASES + CALLBACK_CASES + DATA_CASES + EXCEPTION_CASES + PYTEST_FEATURE_CASES
         + VALUE_CASES + OTHER_CASES + STDIO_CASES + STATE_CASES)

# ---- constructs the judge cannot decide without asking the candidate --------------------------------------------

MONEY = src('''
    class Money:
        def __init__(self, amount, currency):
            self.amount = amount
            self.currency = currency

        def __add__(self, other):
            return Money(self.amount + other.amount, self.currency)

        def __eq__(self, other):
            return (self.amount, self.currency) == (other.amount, other.currency)

        __hash__ = None
''')

CELSIUS = src('''
    class Celsius:
        def __init__(self, degrees):
            self.degrees = degrees

        def __eq__(self, other):
            return self.degrees == getattr(other, "degrees", other)

        def __hash__(self):
            return hash(self.degrees)
''')

WORD = src('''
    class Word:
        def __init__(self, text):
            self.text = text

        def __eq__(self, other):
            return self.text.lower() == other.text.lower()

        __hash__ = None
''')

MONEY_SHOWN = MONEY + src('''


    Money.__repr__ = lambda self: f"Money({self.amount}, {self.currency!r})"
''')

# Two objects of one program class with its own __eq__: decided when its answer agrees with their attributes
OWN_EQ_CASES = [
    Case("own_eq_of_two_program_objects", pytest_module('''
        from solution import Money


        def test_add():
            assert Money(5, "EUR") + Money(3, "EUR") == Money(8, "EUR")


        def test_lists():
            assert [Money(1, "USD"), Money(2, "USD")] == [Money(1, "USD"), Money(2, "USD")]


        def test_not_equal():
            assert Money(1, "USD") != Money(1, "EUR")
        '''), MONEY_SHOWN, bug(MONEY_SHOWN, "self.amount + other.amount", "self.amount - other.amount"),
        "Money(2, 'EUR')"),
]
CASES += OWN_EQ_CASES

# Containers of the tests the program keeps (an attribute, a suspended generator): later changes, either way,
# are seen by the other side as they would be in one process
SINK_LOGGER = src("""
    import contextlib


    class Logger:
        def __init__(self, sink, prefix="INFO"):
            self.sink = sink
            self.prefix = prefix

        def log(self, message):
            self.sink.append(f"{self.prefix} {message}")

        def count(self):
            return len(self.sink)

        def fail(self, message):
            self.sink.append(f"ERROR {message}")
            raise ValueError(message)


    class Settings:
        def __init__(self, values):
            self.values = values

        def get(self, key):
            return self.values[key]

        def bump(self, key):
            self.values[key] += 1


    @contextlib.contextmanager
    def section(lines, title):
        lines.append(f"<{title}>")
        try:
            yield len(lines)
        finally:
            lines.append(f"</{title}>")
""")

# The program's own ordering, between two of its objects, counts where it is consistent
VERSIONS = src("""
    import functools


    @functools.total_ordering
    class Version:
        def __init__(self, text):
            self.parts = tuple(int(p) for p in text.split("."))

        def __eq__(self, other):
            return isinstance(other, Version) and self.parts == other.parts

        def __lt__(self, other):
            return self.parts < other.parts

        def __hash__(self):
            return hash(self.parts)

        def __repr__(self):
            return "Version(%r)" % ".".join(map(str, self.parts))


    class Job:
        def __init__(self, priority, name):
            self.priority, self.name = priority, name

        def __lt__(self, other):
            return self.priority < other.priority
""")

RETRY = src("""
    import functools


    def retry(times, exceptions=(ValueError,)):
        def decorate(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                for attempt in range(times):
                    try:
                        return func(*args, **kwargs)
                    except exceptions:
                        if attempt == times - 1:
                            raise
            return wrapper
        return decorate
""")

KEPT_AND_ORDER_CASES = [
    Case("program_keeps_a_list_of_the_tests", pytest_module("""
        import pytest

        from solution import Logger, section


        def test_logger_writes_to_the_tests_list():
            lines = []
            logger = Logger(lines)
            logger.log("start")
            assert lines == ["INFO start"]
            lines.append("by the test")
            assert logger.count() == 2
            logger.log("end")
            assert lines == ["INFO start", "by the test", "INFO end"]


        def test_written_before_an_exception():
            lines = []
            with pytest.raises(ValueError):
                Logger(lines).fail("disk full")
            assert lines == ["ERROR disk full"]


        def test_context_manager_of_the_program():
            lines = []
            with section(lines, "body") as depth:
                assert depth == 1 and lines == ["<body>"]
                lines.append("text")
            assert lines == ["<body>", "text", "</body>"]
        """), SINK_LOGGER, bug(SINK_LOGGER, 'lines.append(f"</{title}>")', 'lines.append(f"</{title}")'),
        "</body"),
    Case("program_keeps_a_dict_of_the_tests", pytest_module("""
        from solution import Settings


        def test_both_sides_see_changes():
            values = {"retries": 1}
            settings = Settings(values)
            values["retries"] = 5
            assert settings.get("retries") == 5
            settings.bump("retries")
            assert values == {"retries": 6}
        """), SINK_LOGGER, bug(SINK_LOGGER, "self.values[key] += 1", "self.values[key] += 2"), "'retries': 7"),
    Case("own_ordering_of_program_objects", pytest_module("""
        import heapq

        from solution import Job, Version


        def test_sorted_and_max():
            versions = [Version("1.10"), Version("1.2"), Version("1.9")]
            assert sorted(versions) == [Version("1.2"), Version("1.9"), Version("1.10")]
            assert max(versions) == Version("1.10")


        def test_operators():
            assert Version("2.0") > Version("1.9") and Version("1.2") <= Version("1.2")
            assert not Version("1.9") > Version("2.0")


        def test_heap_of_jobs():
            heap = []
            for job in [Job(3, "c"), Job(1, "a"), Job(2, "b")]:
                heapq.heappush(heap, job)
            assert [heapq.heappop(heap).name for _ in range(3)] == ["a", "b", "c"]
        """), VERSIONS, bug(VERSIONS, "return self.parts < other.parts", "return self.parts > other.parts"),
        "Version('1.10')"),
    Case("program_decorates_a_test_function", pytest_module("""
        from solution import retry


        def test_retries_then_succeeds():
            calls = []

            @retry(3)
            def flaky():
                "Fails twice."
                calls.append(1)
                if len(calls) < 3:
                    raise ValueError("again")
                return "ok"

            assert flaky() == "ok" and len(calls) == 3
            assert flaky.__name__ == "flaky"
            assert flaky.__doc__ == "Fails twice."
        """), RETRY, bug(RETRY, "@functools.wraps(func)", "@functools.wraps(decorate)"), "'decorate'"),
]
CASES += KEPT_AND_ORDER_CASES

# Tests that freeze the clock by patching the program's date/datetime with a subclass of their own
CLOCK = src("""
    import datetime as dt
    from datetime import date, datetime, timezone


    def age(birthday):
        today = date.today()
        return today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))


    def stamp():
        return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")


    def days_until(day):
        return (day - dt.date.today()).days
""")

CLOCK_CASES = [
    Case("tests_freeze_the_clock_with_subclasses", pytest_module("""
        import datetime as dt
        from datetime import date, datetime

        import solution


        class FrozenDate(date):
            @classmethod
            def today(cls):
                return cls(2024, 6, 15)


        def test_age_on_and_before_the_birthday(monkeypatch):
            monkeypatch.setattr(solution, "date", FrozenDate)
            assert solution.age(date(2000, 6, 16)) == 23
            assert solution.age(date(2000, 6, 15)) == 24


        def test_stamp(monkeypatch):
            class FrozenNow(datetime):
                @classmethod
                def now(cls, tz=None):
                    return cls(2024, 1, 2, 3, 4, tzinfo=tz)

            monkeypatch.setattr(solution, "datetime", FrozenNow)
            assert solution.stamp() == "2024-01-02 03:04"


        def test_days_until_through_the_module(monkeypatch):
            class NewYear(dt.date):
                @classmethod
                def today(cls):
                    return cls(2024, 1, 1)

            monkeypatch.setattr(solution.dt, "date", NewYear)
            assert solution.days_until(date(2024, 1, 11)) == 10
            assert date(2024, 1, 11) - date(2024, 1, 1) == dt.timedelta(days=10)
        """), CLOCK, bug(CLOCK, "(birthday.month, birthday.day))", "(birthday.month, birthday.day + 1))"),
        "23"),
]
CASES += CLOCK_CASES

# Exceptions of the tests' own classes raised in their callbacks go through the program as themselves
RETRYING_CLIENT = src("""
    def fetch(client, url, tries=3):
        waits = []
        for _ in range(tries):
            try:
                return client.get(url), waits
            except LookupError as err:
                waits.append(err.retry_after)
        raise RuntimeError("gave up")


    def parse_all(parse, items):
        out = []
        for item in items:
            try:
                out.append(parse(item))
            except ValueError as err:
                out.append(f"bad: {err}")
        return out
""")

TESTS_EXCEPTION_CASES = [
    Case("exceptions_of_the_tests_through_the_program", pytest_module("""
        import pytest

        from solution import fetch, parse_all


        class Throttled(LookupError):
            def __init__(self, retry_after):
                super().__init__(f"retry after {retry_after}")
                self.retry_after = retry_after


        class NotANumber(ValueError):
            pass


        class FakeClient:
            def __init__(self, failures):
                self.failures = failures

            def get(self, url):
                if self.failures:
                    self.failures -= 1
                    raise Throttled(self.failures + 1)
                return f"<{url}>"


        def test_retries_reading_the_exception():
            assert fetch(FakeClient(2), "u") == ("<u>", [2, 1])


        def test_subclass_of_value_error_is_caught():
            def parse(text):
                if not text.isdigit():
                    raise NotANumber(f"not a number: {text}")
                return int(text)

            assert parse_all(parse, ["1", "x"]) == [1, "bad: not a number: x"]


        def test_uncaught_comes_back_as_itself():
            class Stop(Exception):
                pass

            def parse(text):
                raise Stop("now")

            with pytest.raises(Stop, match="now") as info:
                parse_all(parse, ["1"])
            assert type(info.value) is Stop
        """), RETRYING_CLIENT, bug(RETRYING_CLIENT, "waits.append(err.retry_after)",
                                   "waits.append(err.retry_after + 1)"), "[3, 2]"),
]
CASES += TESTS_EXCEPTION_CASES

# An __eq__ of a class with __slots__ agrees with the slots' values (no __dict__ to read)
SLOTTED_POINT = src("""
    class Point:
        __slots__ = ("x", "y")

        def __init__(self, x, y):
            self.x, self.y = x, y

        def __eq__(self, other):
            return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

        def __hash__(self):
            return hash((self.x, self.y))

        def __repr__(self):
            return f"Point({self.x}, {self.y})"


    def mirror(points):
        return [Point(p.y, p.x) for p in points]
""")

SLOTS_CASES = [
    Case("own_eq_of_a_class_with_slots", pytest_module("""
        from solution import Point, mirror


        def test_mirror():
            assert mirror([Point(1, 2), Point(3, 4)]) == [Point(2, 1), Point(4, 3)]


        def test_in_containers():
            points = mirror([Point(1, 2), Point(3, 4)])
            assert Point(4, 3) in points and points.index(Point(4, 3)) == 1
            points.remove(Point(2, 1))
            assert points == [Point(4, 3)]
            assert len({Point(1, 2), Point(1, 2), Point(0, 0)}) == 2
            assert {Point(1, 2): "a"}[Point(1, 2)] == "a"
        """), SLOTTED_POINT, bug(SLOTTED_POINT, "Point(p.y, p.x)", "Point(p.x, p.y)"), "Point(1, 2)"),
]
CASES += SLOTS_CASES

# Tests that inspect the program's functions: a generator function, a recursive one without loops
INSPECTED = src("""
    def fibonacci():
        a, b = 0, 1
        while True:
            yield a
            a, b = b, a + b


    async def fetch(value):
        return value


    def factorial(n):
        return 1 if n <= 1 else n * factorial(n - 1)
""")

INSPECT_CASES = [
    Case("tests_inspect_the_program_functions", pytest_module("""
        import inspect
        import itertools

        from solution import factorial, fetch, fibonacci


        def test_kinds_of_function():
            assert inspect.isgeneratorfunction(fibonacci)
            assert not inspect.isgeneratorfunction(factorial)
            assert inspect.iscoroutinefunction(fetch)
            assert list(itertools.islice(fibonacci(), 6)) == [0, 1, 1, 2, 3, 5]


        def test_unwrapped_still_calls_the_program():
            assert inspect.unwrap(factorial)(4) == 24
            assert inspect.isgeneratorfunction(inspect.unwrap(fibonacci))
            assert inspect.isfunction(factorial)


        def test_recursive_without_loops():
            source = inspect.getsource(factorial)
            assert source.startswith("def factorial(n):")
            assert "for " not in source
            assert "while " not in source
            assert factorial(5) == 120
        """), INSPECTED, bug(INSPECTED, "return 1 if n <= 1 else n * factorial(n - 1)",
                             "result = 1\n    for k in range(2, n + 1):\n        result *= k\n    return result"),
        "for k in range"),
]
CASES += INSPECT_CASES

# A generator of the program driven by the tests (send, throw, close), and an async generator
COROUTINES = src("""
    import asyncio


    def accumulator(log):
        total = 0
        try:
            while True:
                try:
                    value = yield total
                    total += value
                except ValueError as err:
                    log.append(f"skipped: {err}")
        finally:
            log.append("closed")


    async def countdown(n):
        while n > 0:
            await asyncio.sleep(0)
            yield n
            n -= 1
""")

COROUTINE_CASES = [
    Case("tests_drive_the_program_generators", pytest_module("""
        import pytest

        from solution import accumulator, countdown


        def test_send_throw_close():
            log = []
            acc = accumulator(log)
            assert next(acc) == 0
            assert acc.send(5) == 5
            assert acc.throw(ValueError("bad input")) == 5
            assert acc.send(2) == 7
            acc.close()
            assert log == ["skipped: bad input", "closed"]


        def test_throw_what_it_does_not_catch():
            class Abort(Exception):
                pass

            acc = accumulator([])
            next(acc)
            with pytest.raises(Abort):
                acc.throw(Abort("stop"))


        async def test_async_generator():
            assert [n async for n in countdown(3)] == [3, 2, 1]
        """), COROUTINES, bug(COROUTINES, "total += value", "total = value"), "left 2 == right 7"),
]
CASES += COROUTINE_CASES

# Datetimes with IANA time zones (zoneinfo) cross both ways
ZONES = src("""
    from datetime import datetime
    from zoneinfo import ZoneInfo


    def to_local(moment, zone):
        return moment.astimezone(ZoneInfo(zone))


    def opening(day):
        return datetime(day.year, day.month, day.day, 9, 0, tzinfo=ZoneInfo("America/New_York"))
""")

ZONE_CASES = [
    Case("zoneinfo_datetimes_both_ways", pytest_module("""
        from datetime import date, datetime, timezone
        from zoneinfo import ZoneInfo

        from solution import opening, to_local


        def test_to_paris():
            local = to_local(datetime(2024, 7, 1, 12, tzinfo=timezone.utc), "Europe/Paris")
            assert local == datetime(2024, 7, 1, 14, tzinfo=ZoneInfo("Europe/Paris"))
            assert local.hour == 14
            assert str(local.tzinfo) == "Europe/Paris"


        def test_handed_over_with_its_zone():
            moment = datetime(2024, 3, 10, 12, tzinfo=ZoneInfo("America/New_York"))
            assert to_local(moment, "UTC").hour == 16


        def test_opening():
            assert opening(date(2024, 1, 15)).isoformat() == "2024-01-15T09:00:00-05:00"
        """), ZONES, bug(ZONES, 'tzinfo=ZoneInfo("America/New_York")', 'tzinfo=ZoneInfo("America/Chicago")'),
        "2024-01-15T09:00:00-06:00"),
]
CASES += ZONE_CASES

# Identifiers and addresses of the standard library cross as values: isinstance and == as in one process
IDS = src("""
    import ipaddress
    import uuid


    def new_id():
        return uuid.uuid4()


    def from_name(name):
        return uuid.uuid5(uuid.NAMESPACE_DNS, name)


    def hosts(cidr):
        return list(ipaddress.ip_network(cidr).hosts())
""")

ID_CASES = [
    Case("uuid_and_ipaddress_values", pytest_module("""
        import ipaddress
        import uuid

        from solution import from_name, hosts, new_id


        def test_uuid():
            made = new_id()
            assert isinstance(made, uuid.UUID) and made.version == 4
            assert from_name("example.com") == uuid.UUID("cfbff0d1-9375-5685-968c-48ce8b15ae17")


        def test_hosts():
            found = hosts("10.0.0.0/30")
            assert found == [ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv4Address("10.0.0.2")]
            assert all(isinstance(h, ipaddress.IPv4Address) for h in found)
        """), IDS, bug(IDS, "ipaddress.ip_network(cidr).hosts()", "ipaddress.ip_network(cidr)"),
        "IPv4Address('10.0.0.0')"),
]
CASES += ID_CASES

# Containers inside a program object's attribute, changed by the tests through it (a board's cells)
BOARD = src(r"""
    class Board:
        def __init__(self, size):
            self.cells = [["." for _ in range(size)] for _ in range(size)]
            self.meta = {"moves": []}

        def render(self):
            return "\n".join("".join(row) for row in self.cells)

        def moves(self):
            return len(self.meta["moves"])
""")

ATTRIBUTE_CASES = [
    Case("tests_change_containers_inside_attributes", pytest_module(r"""
        from solution import Board


        def test_cells_written_through_the_attribute():
            board = Board(2)
            board.cells[0][1] = "X"
            row = board.cells[1]
            row[0] = "O"
            assert board.render() == ".X\nO."
            assert board.cells[1] is row


        def test_nested_dict_value():
            board = Board(1)
            board.meta["moves"].append((0, 0))
            assert board.moves() == 1
        """), BOARD, bug(BOARD, "self.cells)", "reversed(self.cells))"), "'O.\\n.X'"),
]
CASES += ATTRIBUTE_CASES

# Property-based tests (hypothesis, in the image): many generated inputs, the shrunk counterexample shown
INSERTION_SORT = src("""
    def insertion_sort(items):
        out = list(items)
        for i in range(1, len(out)):
            j = i
            while j > 0 and out[j - 1] > out[j]:
                out[j - 1], out[j] = out[j], out[j - 1]
                j -= 1
        return out
""")

PROPERTY_CASES = [
    Case("hypothesis_properties", pytest_module("""
        from hypothesis import example, given, settings
        from hypothesis import strategies as st

        from solution import insertion_sort


        @settings(max_examples=150)
        @given(st.lists(st.integers()))
        @example([])
        def test_sorts_like_sorted(items):
            assert insertion_sort(items) == sorted(items)


        @given(st.lists(st.integers(), min_size=1))
        def test_keeps_its_input(items):
            before = list(items)
            insertion_sort(items)
            assert items == before
        """), INSERTION_SORT, bug(INSERTION_SORT, "while j > 0", "while j > 1"),
        "insertion_sort(items) == sorted(items): left ["),  # hypothesis shrinks to [1, 0] or [0, -1]
]
CASES += PROPERTY_CASES

# Tests that run the program as a script (its command line, its standard input): the run happens in the
# candidate's process, never in the judge's
WORD_COUNT = src("""
    import sys


    def count(text):
        return len(text.split())


    if __name__ == "__main__":
        if len(sys.argv) > 1 and sys.argv[1] == "--lines":
            print(len(sys.stdin.read().splitlines()))
        else:
            print(count(sys.stdin.read()))
""")

SCRIPT_CASES = [
    Case("tests_run_the_program_as_a_script", pytest_module("""
        import subprocess
        import sys

        from solution import count


        def test_words_from_stdin():
            run = subprocess.run([sys.executable, "solution.py"], input="a b  c d", capture_output=True, text=True)
            assert run.returncode == 0
            assert run.stdout == "4\\n"


        def test_option():
            out = subprocess.check_output(["python3", "solution.py", "--lines"], input=b"x\\ny\\n")
            assert out == b"2\\n"


        def test_as_a_function_too():
            assert count("one two") == 2
        """), WORD_COUNT, bug(WORD_COUNT, "len(text.split())", "len(text.split(' '))"), "'5\\n'"),
]
CASES += SCRIPT_CASES

CONFIG = src("""
    import collections
    import os
    from typing import Generic, TypeVar

    LIMIT = int(os.environ.get("APP_LIMIT", "10"))
    T = TypeVar("T")


    def capped(n):
        \"\"\"The smaller of n and the configured limit.

        >>> capped(50)
        10
        >>> capped(3)
        3
        \"\"\"
        return min(n, LIMIT)


    def by_rank(scores):
        ranked = collections.OrderedDict(sorted(scores.items(), key=lambda kv: -kv[1]))
        ranked.move_to_end(next(iter(ranked)))  # the winner is announced last
        return ranked


    def promote(ranked, name):
        ranked.move_to_end(name, last=False)


    def first_words(path):
        with open(path) as f:
            return [line.split()[0] for line in f if line.strip()]


    class Box(Generic[T]):
        def __init__(self, item: T):
            self.item = item
""")

MODULE_CASES = [
    Case("program_module_reloaded_doctested_and_its_ordered_dicts", pytest_module("""
        import collections
        import doctest
        import importlib
        from unittest import mock

        import pytest

        import solution


        @pytest.fixture
        def limit_5(monkeypatch):
            monkeypatch.setenv("APP_LIMIT", "5")
            yield importlib.reload(solution)
            monkeypatch.undo()
            importlib.reload(solution)


        def test_limit_from_the_environment(limit_5):
            assert limit_5 is solution
            assert solution.LIMIT == 5
            assert solution.capped(50) == 5


        def test_default_limit_again():
            assert solution.capped(50) == 10


        def test_docstring_examples():
            assert doctest.testmod(solution) == (0, 2)


        def test_ordered_dicts_keep_their_order():
            ranked = solution.by_rank({"a": 1, "b": 3, "c": 2})
            assert isinstance(ranked, collections.OrderedDict)
            assert list(ranked) == ["c", "a", "b"]
            solution.promote(ranked, "a")
            assert list(ranked.items()) == [("a", 1), ("c", 2), ("b", 3)]


        def test_open_mocked():
            with mock.patch("builtins.open", mock.mock_open(read_data="alpha beta\\n\\ngamma\\n")):
                assert solution.first_words("notes.txt") == ["alpha", "gamma"]


        def test_generic_class():
            box = solution.Box[int](3)
            assert box.item == 3 and isinstance(box, solution.Box)
        """), CONFIG, bug(CONFIG, "return min(n, LIMIT)", "return min(n, LIMIT) if n < 40 else 10"), "10"),
]
CASES += MODULE_CASES

PARSER = src("""
    import logging
    import warnings

    log = logging.getLogger(__name__)


    class LegacyFormatWarning(UserWarning):
        pass


    class ParseError(ValueError):
        pass


    def parse(text):
        if ";" in text:
            warnings.warn("';' separators are deprecated", LegacyFormatWarning)
            text = text.replace(";", ",")
        fields = text.split(",")
        if len(fields) != 2:
            log.error("bad record %r", text)
            raise ParseError(text)
        return fields[0], int(fields[1])
""")

WARNING_CASES = [
    Case("warnings_and_logs_of_the_program_before_it_raises", pytest_module("""
        import unittest

        import pytest

        from solution import LegacyFormatWarning, ParseError, parse


        class TestParse(unittest.TestCase):
            def test_logged_then_raised(self):
                with self.assertLogs("solution", level="ERROR") as logs:
                    with self.assertRaises(ParseError):
                        parse("a,1,2")
                self.assertEqual(logs.output, ["ERROR:solution:bad record 'a,1,2'"])

            def test_own_warning_class(self):
                with self.assertWarns(LegacyFormatWarning):
                    self.assertEqual(parse("a;1"), ("a", 1))


        def test_warned_then_raised():
            with pytest.warns(LegacyFormatWarning, match="deprecated"):
                with pytest.raises(ParseError):
                    parse("a;1;2")


        @pytest.mark.filterwarnings("error")
        def test_warnings_as_errors():
            with pytest.raises(LegacyFormatWarning):
                parse("b;2")
            assert parse("b,2") == ("b", 2)
        """), PARSER, bug(PARSER, 'log.error("bad', 'log.warning("bad'), "no logs of level ERROR"),
]
CASES += WARNING_CASES

WORKERS = src("""
    import asyncio
    import collections.abc
    from concurrent.futures import ThreadPoolExecutor


    def parallel_map(fn, items, workers=4):
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(fn, items))


    def settings(mapping):
        if not isinstance(mapping, collections.abc.Mapping):
            raise TypeError("settings must be a mapping")
        return {key.lower(): value for key, value in mapping.items()}


    def names_of(members):
        return [member.name for member in members]


    def as_mapping(value):
        return value if isinstance(value, collections.abc.Mapping) else None


    async def retry(op, attempts=3):
        for n in range(attempts):
            try:
                return await op()
            except ConnectionError:
                if n == attempts - 1:
                    raise
                await asyncio.sleep(0)
""")

CONCURRENCY_CASES = [
    Case("threads_and_coroutines_of_the_program_call_back", pytest_module("""
        import asyncio
        import collections
        import enum

        import pytest

        from solution import as_mapping, names_of, parallel_map, retry, settings


        class Env(collections.abc.Mapping):
            def __init__(self, **values):
                self._values = values

            def __getitem__(self, key):
                return self._values[key]

            def __iter__(self):
                return iter(self._values)

            def __len__(self):
                return len(self._values)


        class Level(enum.Enum):
            LOW = 1
            HIGH = 2


        class FlakyClient:
            def __init__(self, failures):
                self.failures, self.calls = failures, 0

            async def get(self):
                self.calls += 1
                await asyncio.sleep(0.01)
                if self.calls <= self.failures:
                    raise ConnectionError("down")
                return "ok"


        def test_callbacks_from_worker_threads_keep_their_order():
            assert parallel_map(lambda n: n * 10, range(12)) == [n * 10 for n in range(12)]


        def test_mappings_of_the_tests():
            assert settings(Env(DEBUG=True, Port=80)) == {"debug": True, "port": 80}
            assert settings(collections.UserDict(A=1)) == {"a": 1}
            env = Env(HOME="/root")
            assert as_mapping(env) is env


        def test_an_enum_class_iterated():
            assert names_of(Level) == ["LOW", "HIGH"]


        def test_async_callbacks():
            client = FlakyClient(2)
            assert asyncio.run(retry(client.get)) == "ok"
            assert client.calls == 3


        async def test_async_callbacks_in_an_async_test():
            client = FlakyClient(5)
            with pytest.raises(ConnectionError):
                await retry(client.get)
            assert client.calls == 3
        """), WORKERS, bug(WORKERS, "return list(pool.map(fn, items))", "return list(pool.map(fn, items[1:]))"),
         "[10, 20"),
]
CASES += CONCURRENCY_CASES

TREE = src("""
    def depth(node):
        return 0 if node is None else 1 + depth(node[1])


    def chain(n):
        node = None
        for value in range(n):
            node = (value, node)
        return node
""")

RECURSION_CASES = [
    Case("recursion_limit_raised_by_the_tests", pytest_module("""
        import sys

        import pytest

        from solution import chain, depth


        @pytest.fixture
        def deep_recursion():
            old = sys.getrecursionlimit()
            sys.setrecursionlimit(30_000)
            yield
            sys.setrecursionlimit(old)


        def test_a_deep_chain(deep_recursion):
            assert depth(chain(20_000)) == 20_000


        def test_a_short_chain():
            assert depth(chain(5)) == 5
        """), TREE, bug(TREE, "range(n)", "range(n - 1)"), "19999"),
]
CASES += RECURSION_CASES

STATUS = src("""
    import enum
    import json
    from datetime import date


    class Status(enum.StrEnum):
        OPEN = "open"
        DONE = "done"


    class Level(enum.IntEnum):
        LOW = 1
        HIGH = 2


    class Slug(str):
        def words(self):
            return self.split("-")


    class Day(date):
        def is_weekend(self):
            return self.weekday() >= 5


    def ticket(title, done=False):
        return {"slug": Slug(title.lower().replace(" ", "-")), "status": Status.DONE if done else Status.OPEN,
                "level": Level.HIGH if "!" in title else Level.LOW}


    def due(year, month, day):
        return Day(year, month, day)
""")

IMMUTABLE_SUBCLASS_CASES = [
    Case("objects_of_str_int_and_date_subclasses_are_those_types", pytest_module("""
        import json
        from datetime import date

        from solution import Level, Status, due, ticket


        def test_serialised_as_their_values():
            t = ticket("Fix login!")
            assert json.dumps(t) == '{"slug": "fix-login!", "status": "open", "level": 2}'


        def test_are_their_builtin_types():
            t = ticket("Add tests", done=True)
            assert isinstance(t["slug"], str) and isinstance(t["level"], int) and isinstance(t["status"], str)
            assert "#" + t["slug"] == "#add-tests"
            assert t["slug"].words() == ["add", "tests"]
            assert t["status"] is Status.DONE and t["level"] == 1 and t["level"] < Level.HIGH


        def test_a_date_subclass():
            day = due(2024, 6, 1)
            assert isinstance(day, date) and day.is_weekend()
            assert day - date(2024, 5, 31) == (date(2024, 6, 1) - date(2024, 5, 31))
            assert day.isoformat() == "2024-06-01"
        """), STATUS, bug(STATUS, '.replace(" ", "-")', '.replace(" ", "_")'), "fix_login!"),
]
CASES += IMMUTABLE_SUBCLASS_CASES

SETTINGS = src("""
    import json


    class Settings(dict):
        def __getattr__(self, name):
            try:
                return self[name]
            except KeyError:
                raise AttributeError(name) from None

        def __setattr__(self, name, value):
            self[name] = value


    class History(list):
        def record(self, event):
            self.append(event)
            return self

        def last(self):
            return self[-1] if self else None


    class Tags(set):
        def tag(self, *names):
            self.update(name.lower() for name in names)
            return self


    def load(text):
        return Settings(json.loads(text))


    def drain(queue):
        out = []
        while queue:
            out.append(queue.pop(0))
        return out
""")

CONTAINER_SUBCLASS_CASES = [
    Case("objects_of_list_dict_and_set_subclasses_are_those_types", pytest_module("""
        import heapq
        import json

        import pytest

        from solution import History, Settings, Tags, drain, load


        def test_a_dict_subclass_is_a_dict():
            settings = load('{"debug": true, "level": 2}')
            settings.name = "app"
            assert isinstance(settings, dict) and settings.level == 2
            assert json.dumps(settings) == '{"debug": true, "level": 2, "name": "app"}'
            assert {**settings, "level": 3} == {"debug": True, "level": 3, "name": "app"}


        def test_a_list_subclass_changed_by_its_methods_and_by_the_tests():
            history = History().record("open").record("save")
            assert isinstance(history, list)
            assert history.last() == "save"
            assert json.dumps(history) == '["open", "save"]'
            heapq.heapify(history)  # changes the list without calling any of its methods
            heapq.heappush(history, "close")
            assert history.last() == history[-1]
            assert drain(history) == ["close", "save", "open"]
            assert json.dumps(history) == "[]" and history.last() is None


        def test_a_set_subclass():
            tags = Tags().tag("Python", "CODE")
            assert isinstance(tags, set) and tags == {"python", "code"}
            assert sorted(tags | {"x"}) == ["code", "python", "x"]


        @pytest.mark.parametrize("n", range(40))  # more objects than are kept in step at once, across the tests
        def test_many_objects_one_after_another(n):
            history = History(range(n)).record("end")
            assert isinstance(history, list) and json.dumps(history[-1:]) == '["end"]'
            assert len(json.loads(json.dumps(history))) == n + 1
        """), SETTINGS, bug(SETTINGS, "self.append(event)", "self.insert(0, event)"), "open"),
]
CASES += CONTAINER_SUBCLASS_CASES

DEALER = src("""
    import random

    import numpy as np


    def deal(deck, n):
        return random.sample(deck, n)


    def jitter(n):
        return np.random.normal(size=n)
""")

SEEDED_CASES = [
    Case("seeded_generators_are_one_sequence_for_the_tests_and_the_program", pytest_module("""
        import random

        import numpy as np

        from solution import deal, jitter


        def test_the_program_draws_then_the_test_goes_on():
            random.seed(3)
            hand = deal(list(range(52)), 5)
            after = random.random()  # drawn after the program's draws, as in one process
            random.seed(3)
            assert hand == random.sample(list(range(52)), 5)
            assert random.random() == after


        def test_numpys_global_generator():
            np.random.seed(0)
            first, then = jitter(3), np.random.normal(size=2)
            np.random.seed(0)
            assert np.allclose(np.concatenate([first, then]), np.random.normal(size=5))
        """), DEALER, bug(DEALER, "return random.sample(deck, n)", "return sorted(random.sample(deck, n))"),
        "[8, 15, 23, 34, 37]"),
]
CASES += SEEDED_CASES

RETRYING = src("""
    import json
    import time
    import urllib.request


    class RateLimitError(Exception):
        def __init__(self, retry_after):
            super().__init__(f"rate limited, retry after {retry_after}s")
            self.retry_after = retry_after


    class Client:
        def __init__(self, transport, sleep=time.sleep):
            self.transport, self.sleep = transport, sleep

        def get(self, path, retries=3):
            for _ in range(retries):
                try:
                    return json.loads(self.transport.request("GET", path))
                except RateLimitError as exc:
                    self.sleep(exc.retry_after)
            raise RuntimeError(f"gave up on {path}")


    def fetch_title(url):
        with urllib.request.urlopen(url) as response:
            return json.loads(response.read())["title"]
""")

FAKES_CASES = [
    Case("program_exceptions_raised_by_the_tests_fakes_and_mock_patch_of_a_library", pytest_module("""
        import unittest
        from unittest import mock

        from solution import Client, RateLimitError, fetch_title


        class FakeTransport:
            def __init__(self, *responses):
                self.responses = list(responses)

            def request(self, method, path):
                response = self.responses.pop(0)
                if isinstance(response, Exception):
                    raise response  # the program's own exception class, made by the test
                return response


        class ClientTests(unittest.TestCase):
            def test_waits_as_told_then_succeeds(self):
                sleep = mock.Mock()
                transport = FakeTransport(RateLimitError(2), RateLimitError(5), "[1]")
                self.assertEqual(Client(transport, sleep=sleep).get("/items"), [1])
                sleep.assert_has_calls([mock.call(2), mock.call(5)])

            @mock.patch("solution.urllib.request.urlopen")
            def test_title(self, urlopen):
                urlopen.return_value.__enter__.return_value.read.return_value = b'{"title": "Hi"}'
                self.assertEqual(fetch_title("http://example.com"), "Hi")
                urlopen.assert_called_once_with("http://example.com")
        """), RETRYING, bug(RETRYING, "self.sleep(exc.retry_after)", "self.sleep(exc.retry_after + 1)"), "call(3)"),
]
CASES += FAKES_CASES

PLUGINS = src("""
    from typing import Protocol, runtime_checkable


    @runtime_checkable
    class Closeable(Protocol):
        def close(self) -> None: ...


    class Resource:
        def __init__(self):
            self.closed = False

        def close(self):
            self.closed = True


    def close_all(items):
        closed = 0
        for item in items:
            if isinstance(item, Closeable):
                item.close()
                closed += 1
        return closed
""")

INSTANCECHECK_CASES = [
    Case("isinstance_with_the_programs_runtime_protocols", pytest_module("""
        from solution import Closeable, Resource, close_all


        class TestsOwn:
            def close(self):
                self.closed = True


        def test_runtime_protocol():
            resource, own = Resource(), TestsOwn()
            assert isinstance(resource, Closeable) and isinstance(own, Closeable)
            assert not isinstance(5, Closeable)
            assert close_all([resource, own, 5]) == 2
            assert resource.closed and own.closed
        """), PLUGINS, bug(PLUGINS, "closed += 1", "closed += 2"), "4"),
]
CASES += INSTANCECHECK_CASES

TRANSACTIONS = src("""
    import contextlib


    class Rollback(Exception):
        pass


    class Transaction:
        def __init__(self, store):
            self.store, self.pending = store, {}

        def __enter__(self):
            return self

        def set(self, key, value):
            self.pending[key] = value

        def __exit__(self, exc_type, exc, tb):
            if exc_type is None:
                self.store.update(self.pending)
            return exc_type is not None and issubclass(exc_type, Rollback)  # a rollback ends the block quietly


    @contextlib.contextmanager
    def logged(log):
        try:
            yield
        except KeyError as exc:
            log.append(f"missing {exc}")
            raise
        finally:
            log.append("done")
""")

WITH_BLOCK_CASES = [
    Case("with_blocks_that_raise_inside_the_programs_context_managers", pytest_module("""
        import pytest

        from solution import Rollback, Transaction, logged


        def test_commit():
            store = {}
            with Transaction(store) as t:
                t.set("a", 1)
            assert store == {"a": 1}


        def test_a_rollback_is_suppressed_by_exit():
            store = {}
            with Transaction(store) as t:
                t.set("a", 1)
                raise Rollback()
            assert store == {}


        def test_other_errors_go_on():
            store = {}
            with pytest.raises(ValueError, match="boom"):
                with Transaction(store) as t:
                    t.set("a", 1)
                    raise ValueError("boom")
            assert store == {}


        def test_a_generator_context_manager_sees_the_error():
            log = []
            with pytest.raises(KeyError):
                with logged(log):
                    {}["k"]
            assert log == ["missing 'k'", "done"]
        """), TRANSACTIONS, bug(TRANSACTIONS, 'log.append(f"missing {exc}")', 'log.append(f"missing {exc!r}")'),
        "KeyError('k')"),
]
CASES += WITH_BLOCK_CASES

CACHE = src("""
    import pickle
    from dataclasses import dataclass, field


    @dataclass
    class Entry:
        key: str
        hits: int = 0


    @dataclass
    class Cache:
        entries: dict = field(default_factory=dict)

        def hit(self, key):
            entry = self.entries.setdefault(key, Entry(key))
            entry.hits += 1
            return entry

        def dump(self):
            return pickle.dumps(self)

        @staticmethod
        def load(data):
            return pickle.loads(data)
""")

PICKLE_CASES = [
    Case("pickling_the_programs_objects", pytest_module("""
        import pickle

        from solution import Cache, Entry


        def test_round_trip_in_the_tests():
            entry = Entry("a", 2)
            copy = pickle.loads(pickle.dumps(entry))
            assert copy == entry and copy is not entry
            assert pickle.loads(pickle.dumps({"k": [entry]})) == {"k": [Entry("a", 2)]}


        def test_the_programs_own_dump_and_load():
            cache = Cache()
            cache.hit("a")
            cache.hit("a")
            restored = Cache.load(cache.dump())
            assert restored == cache
            assert restored.entries["a"] == Entry("a", 2)


        def test_an_attribute_dict_pickles_as_a_dict():
            cache = Cache()
            cache.hit("b")
            assert pickle.loads(pickle.dumps(cache.entries)) == {"b": Entry("b", 1)}
        """), CACHE, bug(CACHE, "entry.hits += 1", "entry.hits = 1"), "hits=1"),
]
CASES += PICKLE_CASES

MONEY = src("""
    class Money:
        def __init__(self, amount, currency="EUR"):
            self.amount, self.currency = amount, currency

        def __repr__(self):
            return f"Money({self.amount!r}, {self.currency!r})"

        def __eq__(self, other):
            return isinstance(other, Money) and (self.amount, self.currency) == (other.amount, other.currency)

        __hash__ = None


    def total_expression(prices):
        return " + ".join(str(p) for p in prices)
""")

EVAL_CASES = [
    Case("eval_of_reprs_and_expressions_in_the_tests", pytest_module("""
        import math

        from solution import Money, total_expression


        def test_repr_evaluates_to_an_equal_object():
            money = Money(10, "USD")
            assert repr(money) == "Money(10, 'USD')"
            assert eval(repr(money)) == money
            assert eval(repr([money, Money(2)])) == [money, Money(2, "EUR")]


        def test_expressions_with_the_tests_names():
            prices = [3, 4.5, 2]
            assert eval(total_expression(prices)) == sum(prices)
            scale = 2
            assert eval("math.floor(scale * 4.5)") == 9
        """), MONEY, bug(MONEY, ", {self.currency!r})", ")"), "Money(10)"),
]
CASES += EVAL_CASES

APPLY = src("""
    import numpy as np


    def apply(fn, values):
        return np.array([fn(x) for x in values])
""")

UFUNC_CASES = [
    Case("numpy_ufuncs_handed_over_as_functions", pytest_module("""
        import numpy as np

        from solution import apply


        def test_ufuncs_and_lambdas():
            assert apply(np.sqrt, [4.0, 9.0]).tolist() == [2.0, 3.0]
            assert apply(np.negative, np.array([1, -2])).tolist() == [-1, 2]
            assert apply(lambda x: x * 10, [1, 2]).tolist() == [10, 20]
        """), APPLY, bug(APPLY, "for x in values]", "for x in values[1:]]"), "[3.0]"),
]
CASES += UFUNC_CASES

WIDGETS = src("""
    class Widget:
        count = 0
        registry = {}

        def __init__(self, name):
            Widget.count += 1
            Widget.registry[name] = self
            self.name = name

        @classmethod
        def get(cls, name):
            return cls.registry.get(name)
""")

CLASS_STATE_CASES = [
    Case("class_attributes_the_tests_reset_and_the_program_changes", pytest_module("""
        import pytest

        from solution import Widget


        @pytest.fixture(autouse=True)
        def fresh_registry():
            Widget.count = 0
            Widget.registry.clear()


        def test_counts_instances():
            Widget("a")
            Widget("b")
            assert Widget.count == 2
            assert Widget.get("a").name == "a" and set(Widget.registry) == {"a", "b"}


        def test_starts_again_from_the_fixture():
            Widget("c")
            assert Widget.count == 1


        def test_monkeypatched_count(monkeypatch):
            monkeypatch.setattr(Widget, "count", 10)
            Widget("d")
            assert Widget.count == 11
        """), WIDGETS, bug(WIDGETS, "Widget.count += 1", "Widget.count += 2"), "4"),
]
CASES += CLASS_STATE_CASES

ASYNC_OBJECTS = src("""
    import asyncio


    class Countdown:
        def __init__(self, n):
            self.n = n

        def __aiter__(self):
            return self

        async def __anext__(self):
            if self.n <= 0:
                raise StopAsyncIteration
            self.n -= 1
            await asyncio.sleep(0)
            return self.n + 1


    class Session:
        def __init__(self):
            self.open, self.errors = False, []

        async def __aenter__(self):
            self.open = True
            return self

        async def __aexit__(self, exc_type, exc, tb):
            self.open = False
            if exc_type is not None:
                self.errors.append(str(exc))
            return exc_type is ValueError  # a ValueError ends the block quietly
""")

ASYNC_OBJECT_CASES = [
    Case("async_context_managers_and_async_iterator_classes", pytest_module("""
        import pytest

        from solution import Countdown, Session


        async def test_async_iterator_class():
            assert [i async for i in Countdown(3)] == [3, 2, 1]


        async def test_async_with():
            session = Session()
            async with session as s:
                assert s.open
            assert not session.open
            async with session:
                raise ValueError("bad row")
            assert session.errors == ["bad row"]
            with pytest.raises(KeyError):
                async with session:
                    raise KeyError("k")
        """), ASYNC_OBJECTS, bug(ASYNC_OBJECTS, "return self.n + 1", "return self.n"), "[2, 1, 0]"),
]
CASES += ASYNC_OBJECT_CASES

KV_STORE = src("""
    import asyncio


    class Store:
        def __init__(self):
            self.items, self.closed = {}, False

        async def put(self, key, value):
            await asyncio.sleep(0)
            self.items[key] = value

        async def get(self, key):
            await asyncio.sleep(0)
            return self.items.get(key)

        async def close(self):
            self.closed = True


    async def fetch_all(client, keys):
        return [await client.get(key) for key in keys]
""")

# Async fixtures, as tests written for pytest-asyncio have them: `@pytest_asyncio.fixture` or `@pytest.fixture` on
# an `async def`, with teardown after `yield`, of function, class-method and module scope.
ASYNC_FIXTURE_CASES = [
    Case("async_fixtures_as_pytest_asyncio_runs_them", pytest_module("""
        import asyncio

        import pytest
        import pytest_asyncio

        from solution import Store, fetch_all

        closed = []


        @pytest_asyncio.fixture
        async def store():
            s = Store()
            await s.put("a", 1)
            yield s
            await s.close()
            closed.append(s.closed)


        @pytest.fixture(scope="module")
        async def hits():
            await asyncio.sleep(0)
            return {"n": 0}


        class FakeClient:
            def __init__(self, data):
                self.data = data

            async def get(self, key):
                await asyncio.sleep(0)
                return self.data[key]


        @pytest.mark.asyncio
        async def test_get(store, hits):
            hits["n"] += 1
            assert await store.get("a") == 1


        async def test_put_then_get(store, hits):
            hits["n"] += 1
            await store.put("b", [2, 3])
            assert await store.get("b") == [2, 3]


        def test_teardown_ran_and_module_fixture_is_shared(hits):
            assert closed == [True, True] and hits["n"] == 2


        class TestClient:
            @pytest_asyncio.fixture
            async def client(self):
                self.made = True
                return FakeClient({"x": 9, "y": 8})

            async def test_fetch_all(self, client):
                assert self.made
                assert await fetch_all(client, ["y", "x"]) == [8, 9]
        """), KV_STORE, bug(KV_STORE, "return [await client.get(key) for key in keys]",
                             "return [await client.get(key) for key in sorted(keys)]"), "[9, 8]"),
]
CASES += ASYNC_FIXTURE_CASES

TYPED = src("""
    from __future__ import annotations

    from dataclasses import dataclass
    from typing import Callable, Literal, Optional


    @dataclass
    class Node:
        value: int
        next: Optional[Node] = None

        def append(self, value: int) -> "Node":
            self.next = Node(value)
            return self.next


    def find(items: list[int], target: int) -> Optional[int]:
        return items.index(target) if target in items else None


    def apply(f: Callable[[int], int], xs: list[int], mode: Literal["all", "first"] = "all") -> dict[str, list[int]]:
        return {mode: [f(x) for x in xs]}
""")

# Type hints of the program's functions and classes: tests that check the annotations a task asks for.
TYPE_HINT_CASES = [
    Case("type_hints_of_the_programs_functions_and_classes", pytest_module("""
        import inspect
        from typing import Callable, Literal, Optional, get_type_hints

        from solution import Node, apply, find


        def test_function_hints():
            assert get_type_hints(find) == {"items": list[int], "target": int, "return": Optional[int]}
            assert get_type_hints(apply)["f"] == Callable[[int], int]
            assert get_type_hints(apply)["mode"] == Literal["all", "first"]


        def test_class_and_method_hints():
            assert get_type_hints(Node) == {"value": int, "next": Optional[Node]}
            assert get_type_hints(Node(1).append) == {"value": int, "return": Node}


        def test_signature_with_evaluated_annotations():
            sig = inspect.signature(apply, eval_str=True)
            assert sig.return_annotation == dict[str, list[int]]
            assert list(sig.parameters) == ["f", "xs", "mode"]
            assert inspect.signature(find).parameters["target"].annotation == "int"
        """), TYPED, bug(TYPED, "-> Optional[int]:", "-> int:"), "int"),
]
CASES += TYPE_HINT_CASES

COUNTER_MODULE = src("""
    import math

    __version__ = "1.2.0"
    __author__ = "Ada"
    calls = 0
    MODE = "fast"


    def ping():
        global calls
        calls += 1
        return "pong" if MODE == "fast" else "slow pong"


    def setup(db):
        db.append("schema")
        return db


    def ratios(pairs):
        return [a / b if b else math.nan for a, b in pairs]
""")

# A module global the tests set (a counter reset, a mode switched) that the program then changes; a program function
# named `setup` (pytest 7's nose plugin took it for a module setup); math.nan, equal to itself inside a list.
MODULE_STATE_CASES = [
    Case("module_globals_set_by_the_tests_then_changed_by_the_program", pytest_module("""
        import math

        import solution
        from solution import ratios, setup


        def test_counter_reset_by_the_test():
            solution.calls = 0
            solution.ping()
            solution.ping()
            assert solution.calls == 2


        def test_monkeypatched_global(monkeypatch):
            monkeypatch.setattr(solution, "calls", 10)
            monkeypatch.setattr(solution, "MODE", "slow")
            assert solution.ping() == "slow pong"
            assert solution.calls == 11


        def test_restored_after_monkeypatch():
            assert solution.MODE == "fast" and solution.ping() == "pong"


        def test_a_function_named_setup():
            assert setup([]) == ["schema"]


        def test_package_metadata():
            assert (solution.__version__, solution.__author__) == ("1.2.0", "Ada")


        def test_nan_in_a_list_is_math_nan():
            assert ratios([(1, 2), (0, 0)]) == [0.5, math.nan]
        """), COUNTER_MODULE, bug(COUNTER_MODULE, "calls += 1", "calls += 2"), "4"),
]
CASES += MODULE_STATE_CASES

LOADERS = src("""
    import json
    import subprocess


    class ConfigError(Exception):
        pass


    def read(path):
        with open(path) as f:
            return f.read()


    def parse(text):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"bad config at {err.pos}") from err


    def lookup(table, key):
        try:
            return table[key]
        except KeyError:
            raise LookupError(f"no {key}") from None


    def run(cmd):
        raise subprocess.CalledProcessError(3, cmd, output=b"out", stderr=b"boom")
""")

# Library exceptions the program raises, with what they hold besides their arguments (OSError.filename,
# JSONDecodeError.pos, CalledProcessError.stderr), and `raise ... from None`.
LIBRARY_EXCEPTION_CASES = [
    Case("library_exceptions_keep_their_attributes", pytest_module("""
        import json
        import subprocess

        import pytest

        from solution import ConfigError, lookup, parse, read, run


        def test_missing_file_names_it(tmp_path):
            path = tmp_path / "nope.txt"
            with pytest.raises(FileNotFoundError) as info:
                read(str(path))
            assert info.value.filename == str(path)


        def test_json_error_position():
            with pytest.raises(ConfigError) as info:
                parse('{"a": }')
            cause = info.value.__cause__
            assert isinstance(cause, json.JSONDecodeError)
            assert (cause.pos, cause.lineno, cause.colno) == (6, 1, 7)
            assert cause.msg == "Expecting value"


        def test_from_none_hides_the_context():
            with pytest.raises(LookupError) as info:
                lookup({}, "k")
            assert info.value.__suppress_context__ is True


        def test_called_process_error_output():
            with pytest.raises(subprocess.CalledProcessError) as info:
                run(["git", "x"])
            assert (info.value.returncode, info.value.stderr, info.value.output) == (3, b"boom", b"out")
        """), LOADERS, bug(LOADERS, 'stderr=b"boom"', 'stderr=b"bust"'), "b'bust'"),
]
CASES += LIBRARY_EXCEPTION_CASES

LAZY_TOOLS = src("""
    import collections
    import functools
    import itertools
    import re


    def power(e):
        return functools.partial(pow, exp=e)


    def layered(defaults, overrides):
        return collections.ChainMap(overrides, defaults)


    def first_word(text):
        return re.match(r"\\w+", text)


    def doubled(xs):
        return map(lambda x: 2 * x, xs)


    def pairs(xs):
        return itertools.combinations(xs, 2)
""")

REPLACERS = src("""
    def censor(match):
        return "*" * len(match[0])


    def swap_date(match):
        parts = match.groupdict()
        assert match.span()[1] - match.start() == 10
        return "{d}/{m}/{y}".format(**parts)
""")

# Library objects that stay in the program (a partial of its function, a ChainMap, a match, a lazy map): tests check
# their type with isinstance, then use them.
LIBRARY_OBJECT_CASES = [
    Case("library_objects_the_program_returns_are_their_class", pytest_module("""
        import collections
        import collections.abc
        import functools
        import itertools
        import re

        from solution import doubled, first_word, layered, pairs, power


        def test_partial():
            square = power(2)
            assert isinstance(square, functools.partial) and square.keywords == {"exp": 2}
            assert square(7) == 49


        def test_chain_map():
            settings = layered({"color": "red", "size": 1}, {"size": 3})
            assert isinstance(settings, collections.ChainMap)
            assert isinstance(settings, collections.abc.Mapping)
            assert settings["size"] == 3 and settings["color"] == "red"


        def test_match():
            found = first_word("hello world")
            assert isinstance(found, re.Match) and found.group(0) == "hello"


        def test_lazy_iterators():
            lazy = doubled([1, 2, 3])
            assert isinstance(lazy, map)
            assert list(lazy) == [2, 4, 6]
            both = pairs("abc")
            assert isinstance(both, itertools.combinations)
            assert list(both) == [("a", "b"), ("a", "c"), ("b", "c")]
        """), LAZY_TOOLS, bug(LAZY_TOOLS, "map(lambda x: 2 * x, xs)", "map(lambda x: 2 + x, xs)"), "[3, 4, 5]"),
    Case("re_sub_with_the_programs_replacement_functions", pytest_module("""
        import re

        from solution import censor, swap_date


        def test_censor():
            assert re.sub(r"bad\\w*", censor, "a badword, bad here") == "a *******, *** here"


        def test_named_groups():
            text = "due 2024-03-09, paid 2024-04-01"
            assert re.sub(r"(?P<y>\\d{4})-(?P<m>\\d\\d)-(?P<d>\\d\\d)", swap_date, text) == \\
                "due 09/03/2024, paid 01/04/2024"
        """), REPLACERS, bug(REPLACERS, 'return "*" * len(match[0])', 'return "*" * (len(match[0]) - 1)'), "******"),
]
CASES += LIBRARY_OBJECT_CASES

ABC_CLASSES = src("""
    import abc
    from collections.abc import Mapping, MutableSequence


    class Shape(abc.ABC):
        @abc.abstractmethod
        def area(self):
            ...


    class Square(Shape):
        def __init__(self, side):
            self.side = side

        def area(self):
            return self.side ** 2


    class Env(Mapping):
        def __init__(self, **values):
            self._values = dict(values)

        def __getitem__(self, key):
            return self._values[key.upper()]

        def __iter__(self):
            return iter(self._values)

        def __len__(self):
            return len(self._values)


    class Stack(MutableSequence):
        def __init__(self):
            self._items = []

        def __getitem__(self, i):
            return self._items[i]

        def __setitem__(self, i, value):
            self._items[i] = value

        def __delitem__(self, i):
            del self._items[i]

        def __len__(self):
            return len(self._items)

        def insert(self, i, value):
            self._items.insert(i, value)
""")

# Program classes built on collections.abc: instances of those ABCs, and a Mapping equal to a dict of its items.
ABC_CASES = [
    Case("program_classes_built_on_collections_abc", pytest_module("""
        from collections.abc import Iterable, Mapping, MutableSequence, Sequence, Sized

        from solution import Env, Stack


        def test_mapping():
            env = Env(A=1, B=2)
            assert isinstance(env, Mapping) and isinstance(env, Sized)
            assert env["a"] == 1
            assert env == {"A": 1, "B": 2}
            assert env != {"A": 1}
            assert dict(env.items()) == {"A": 1, "B": 2}


        def test_abstract_base_class():
            import inspect

            import pytest

            from solution import Shape, Square

            assert inspect.isabstract(Shape) and Shape.__abstractmethods__ == frozenset({"area"})
            assert not inspect.isabstract(Square) and isinstance(Square(3), Shape)
            assert Square(3).area() == 9
            with pytest.raises(TypeError):
                Shape()


        def test_sequence():
            stack = Stack()
            stack.extend([1, 2, 3])
            assert isinstance(stack, MutableSequence) and isinstance(stack, Sequence)
            assert isinstance(stack, Iterable)
            assert stack.pop() == 3
            assert list(reversed(stack)) == [2, 1]
        """), ABC_CLASSES,
        bug(ABC_CLASSES, "return self._values[key.upper()]", "return self._values[key.upper()] * 10"), "10"),
]
CASES += ABC_CASES

PLUGINS = src("""
    class Plugin:
        registry = {}

        def __init_subclass__(cls, name=None, **kwargs):
            super().__init_subclass__(**kwargs)
            Plugin.registry[name or cls.__name__.lower()] = cls

        def run(self, text):
            return self.transform(text)


    class Upper(Plugin):
        def transform(self, text):
            return text.upper()


    def run_plugin(name, text):
        return Plugin.registry[name]().run(text)
""")

# A registry filled by __init_subclass__, which the tests' own subclasses (with class keywords) join when defined.
REGISTRY_CASES = [
    Case("init_subclass_registry_joined_by_the_tests_classes", pytest_module("""
        from solution import Plugin, Upper, run_plugin


        class Reverse(Plugin, name="rev"):
            def transform(self, text):
                return text[::-1]


        def test_the_programs_plugin():
            assert Plugin.registry["upper"] is Upper
            assert run_plugin("upper", "ab") == "AB"


        def test_a_plugin_of_the_tests():
            assert sorted(Plugin.registry)[:2] == ["rev", "upper"]
            assert Plugin.registry["rev"] is Reverse
            assert run_plugin("rev", "abc") == "cba"


        def test_one_defined_in_a_test():
            class Shout(Plugin):
                def transform(self, text):
                    return text + "!"

            assert run_plugin("shout", "hi") == "hi!"
        """), PLUGINS, bug(PLUGINS, "Plugin.registry[name or cls.__name__.lower()] = cls",
                           "Plugin.registry[cls.__name__.lower()] = cls"), "'reverse'"),
]
CASES += REGISTRY_CASES

DECORATORS = src("""
    import functools

    import numpy as np


    def logged(fn):
        calls = []

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            calls.append(fn.__name__)
            return fn(*args, **kwargs)

        wrapper.calls = calls
        return wrapper


    def as_float32(values):
        return np.asarray(values, dtype=np.float32)


    def dtype_of(array):
        return array.dtype
""")

# The program's decorator on a method of a test class (it binds to the instance, as a function does), and a numpy
# dtype the program returns, compared with the tests' own.
DECORATED_METHOD_CASES = [
    Case("program_decorator_on_a_test_class_method_and_dtypes", pytest_module("""
        import numpy as np

        from solution import as_float32, dtype_of, logged


        class Greeter:
            def __init__(self, greeting):
                self.greeting = greeting

            @logged
            def hello(self, name):
                return f"{self.greeting} {name}"


        def test_decorated_method():
            greeter = Greeter("hello")
            assert greeter.hello("bob") == "hello bob"
            assert Greeter.hello.__name__ == "hello"
            assert Greeter.hello.calls == ["hello"]


        def test_dtypes():
            assert dtype_of(as_float32([1, 2])) == np.float32
            assert dtype_of(np.zeros(2, dtype=np.int16)) == "int16"
            assert {"kind": dtype_of(as_float32([0]))} == {"kind": np.dtype("float32")}
        """), DECORATORS, bug(DECORATORS, "dtype=np.float32", "dtype=np.float64"), "float64"),
]
CASES += DECORATED_METHOD_CASES

RETRYING = src("""
    import contextlib


    def retry(op, on=(Exception,), attempts=3):
        for attempt in range(1, attempts + 1):
            try:
                return op()
            except on as err:
                if attempt == attempts:
                    raise
                last = err
        return last


    def safe_call(fn, catch=(Exception,), default=None):
        try:
            return fn()
        except catch as err:
            return default if default is not None else type(err).__name__


    @contextlib.contextmanager
    def suppressed(log, *kinds):
        try:
            yield
        except kinds as err:
            log.append(str(err))
""")

# Exception classes of the tests handed to the program, which catches them (and their subclasses) by those classes.
TESTS_EXCEPTION_CLASS_CASES = [
    Case("the_tests_exception_classes_caught_by_the_program", pytest_module("""
        import pytest

        from solution import retry, safe_call, suppressed


        class AppError(Exception):
            pass


        class Transient(AppError):
            def __init__(self, message, code):
                super().__init__(message)
                self.code = code


        def flaky(failures):
            calls = []

            def op():
                calls.append(1)
                if len(calls) <= failures:
                    raise Transient("try again", 503)
                return len(calls)
            return op


        def test_retry_on_a_base_class_of_the_tests():
            assert retry(flaky(2), on=(AppError,)) == 3
            with pytest.raises(Transient) as info:
                retry(flaky(5), on=(AppError,))
            assert info.value.code == 503


        def test_other_errors_pass_through():
            def broken():
                raise KeyError("k")

            with pytest.raises(KeyError):
                retry(broken, on=(AppError,))
            assert safe_call(flaky(1), catch=(AppError,)) == "Transient"


        def test_a_context_manager_suppressing_their_class():
            log = []
            with suppressed(log, AppError):
                raise Transient("boom", 500)
            assert log == ["boom"]
        """), RETRYING, bug(RETRYING, "for attempt in range(1, attempts + 1):", "for attempt in range(1, attempts):"),
        "Transient('try again')"),
]
CASES += TESTS_EXCEPTION_CLASS_CASES

SNAPSHOTS = src("""
    import copy


    class History:
        def __init__(self):
            self.states = []

        def save(self, state):
            self.states.append(copy.deepcopy(state))

        def last(self):
            return self.states[-1]


    def shallow(obj):
        return copy.copy(obj)
""")

# The program copies objects of the tests (an undo history keeping deep copies); the copy is a new object of theirs.
COPY_CASES = [
    Case("the_program_copies_the_tests_objects", pytest_module("""
        from solution import History, shallow


        class Cell:
            def __init__(self, value):
                self.value = value


        def test_deep_copies_are_snapshots():
            cells = [Cell(1), Cell(2)]
            history = History()
            history.save(cells)
            cells[0].value = 99
            assert [c.value for c in history.last()] == [1, 2]


        def test_shallow_copy_is_a_new_object():
            cell = Cell(7)
            other = shallow(cell)
            assert other is not cell and isinstance(other, Cell)
            assert other.value == 7
        """), SNAPSHOTS, bug(SNAPSHOTS, "self.states.append(copy.deepcopy(state))", "self.states.append(state)"),
        "[99, 2]"),
]
CASES += COPY_CASES

VALIDATORS = src("""
    class Positive:
        def __set_name__(self, owner, name):
            self.name = "_" + name

        def __get__(self, obj, owner=None):
            return self if obj is None else getattr(obj, self.name)

        def __set__(self, obj, value):
            if value <= 0:
                raise ValueError(f"{self.name[1:]} must be positive")
            setattr(obj, self.name, value)
""")

# The program's descriptor in a class of the tests: __set_name__ when the class is made, __get__ and __set__ on
# its objects (the value kept on the tests' object, under a private name).
DESCRIPTOR_CASES = [
    Case("the_programs_descriptor_in_a_test_class", pytest_module("""
        import pytest

        from solution import Positive


        class Order:
            qty = Positive()
            price = Positive()

            def __init__(self, qty, price):
                self.qty, self.price = qty, price


        def test_values():
            order = Order(2, 3.5)
            assert order.qty * order.price == 7.0
            order.qty = 5
            assert order.qty == 5


        def test_validation():
            with pytest.raises(ValueError, match="qty must be positive"):
                Order(0, 1)
            assert isinstance(Order.qty, Positive)
        """), VALIDATORS, bug(VALIDATORS, "return self if obj is None else getattr(obj, self.name)",
                              "return self if obj is None else getattr(obj, self.name) * 2"), "28.0"),
]
CASES += DESCRIPTOR_CASES

BY_TYPE = src("""
    from collections import Counter
    from collections.abc import Hashable, Iterable


    def of_type(items, cls):
        return [item for item in items if isinstance(item, cls)]


    def count_by_type(items):
        return Counter(type(item).__name__ for item in items)


    def flatten(items):
        out = []
        for item in items:
            if isinstance(item, Iterable) and not isinstance(item, str):
                out.extend(flatten(item))
            else:
                out.append(item)
        return out


    def run_all(jobs):
        return [job() if callable(job) else job.run() for job in jobs]


    def keyable(items):
        return [isinstance(item, Hashable) for item in items]


    def same_kind(a, b):
        return type(a) is type(b)


    def first_or(items, default):
        return items[0] if items else default
""")

# The tests' objects and classes in the program: of their class to isinstance, type() and __name__; callable,
# iterable and hashable as their class makes them; a bare object() handed back as itself.
TESTS_TYPES_CASES = [
    Case("the_tests_objects_have_their_class_in_the_program", pytest_module("""
        from solution import count_by_type, first_or, flatten, keyable, of_type, run_all, same_kind


        class Animal:
            pass


        class Dog(Animal):
            pass


        class Cat(Animal):
            pass


        class Job:
            def run(self):
                return "ran"


        class Task:
            def __call__(self):
                return "called"


        class Leaf:
            pass


        class Box:
            def __init__(self, *items):
                self.items = list(items)

            def __iter__(self):
                return iter(self.items)


        class Record:
            def __eq__(self, other):
                return isinstance(other, Record)


        def test_isinstance_and_type_names():
            rex, tom = Dog(), Cat()
            assert of_type([rex, tom, 3], Dog) == [rex]
            assert of_type([rex, tom], Animal) == [rex, tom]
            assert count_by_type([rex, Dog(), tom, 1]) == {"Dog": 2, "Cat": 1, "int": 1}
            assert same_kind(Dog(), Dog()) and not same_kind(Dog(), Cat())


        def test_duck_typing():
            assert run_all([Job(), Task()]) == ["ran", "called"]
            leaf = Leaf()
            assert flatten([1, Box(2, Box(3, leaf))]) == [1, 2, 3, leaf]
            assert keyable([Leaf(), Record()]) == [True, False]


        def test_a_sentinel_comes_back_as_itself():
            missing = object()
            assert first_or([], missing) is missing
        """), BY_TYPE, bug(BY_TYPE, "return Counter(type(item).__name__ for item in items)",
                           "return Counter(type(item).__name__.lower() for item in items)"), "'dog'"),
]
CASES += TESTS_TYPES_CASES

INJECTOR = src("""
    import functools
    import inspect


    class Container:
        def __init__(self):
            self.factories = {}

        def register(self, key, factory):
            self.factories[key] = factory

        def resolve(self, key):
            factory = self.factories[key]
            params = inspect.signature(factory).parameters.values()
            return factory(**{p.name: self.resolve(p.annotation if p.annotation is not p.empty else p.name)
                              for p in params})


    def typed(fn):
        hints = fn.__annotations__

        @functools.wraps(fn)
        def wrapper(*args):
            for name, value in zip(inspect.signature(fn).parameters, args):
                if name in hints and not isinstance(value, hints[name]):
                    raise TypeError(f"{name} must be {hints[name].__name__}")
            return fn(*args)
        return wrapper


    def to_dict(obj):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
""")

# The program introspects the tests' classes and functions: inspect.signature of their constructors (an injector),
# their annotations (a type-checking decorator), vars() of their objects.
INTROSPECTION_CASES = [
    Case("the_program_introspects_the_tests_classes_and_functions", pytest_module("""
        import pytest

        from solution import Container, to_dict, typed


        class Config:
            def __init__(self):
                self.url = "sqlite://"


        class Database:
            def __init__(self, config: Config):
                self.config = config


        class Service:
            def __init__(self, db: Database, name):
                self.db, self.name, self._cache = db, name, {}


        def test_injector_builds_the_graph():
            box = Container()
            for cls in (Config, Database, Service):
                box.register(cls, cls)
            box.register("name", lambda: "svc")
            service = box.resolve(Service)
            assert isinstance(service, Service) and service.name == "svc"
            assert service.db.config.url == "sqlite://"
            assert to_dict(service.db.config) == {"url": "sqlite://"}
            assert sorted(to_dict(service)) == ["db", "name"]


        def test_type_checking_decorator():
            @typed
            def area(width: int, height: int) -> int:
                return width * height

            assert area(3, 4) == 12
            with pytest.raises(TypeError, match="height must be int"):
                area(3, "4")
        """), INJECTOR, bug(INJECTOR, "if name in hints and not isinstance(value, hints[name]):",
                            "if name in hints and not isinstance(value, (hints[name], str)):"), "DID NOT RAISE"),
]
CASES += INTROSPECTION_CASES

TOTALS = src("""
    def total(items):
        return sum(items)


    def row(cells, width):
        return "|".join(f"{cell:>{width}}" for cell in cells)


    def scaled(amount, factor):
        return amount * factor
""")

# The tests' numeric-like objects in the program's arithmetic and formatting (their own operators, run there).
TESTS_ARITHMETIC_CASES = [
    Case("the_tests_objects_in_the_programs_arithmetic", pytest_module("""
        from solution import row, scaled, total


        class Money:
            def __init__(self, cents):
                self.cents = cents

            def __add__(self, other):
                return Money(self.cents + (other.cents if isinstance(other, Money) else other))

            __radd__ = __add__

            def __mul__(self, factor):
                return Money(self.cents * factor)

            def __eq__(self, other):
                return isinstance(other, Money) and other.cents == self.cents

            def __repr__(self):
                return f"Money({self.cents})"


        class Cell:
            def __init__(self, text):
                self.text = text

            def __format__(self, spec):
                return format(self.text, spec)


        def test_sum_and_scale():
            assert total([Money(5), Money(7)]) == Money(12)
            assert scaled(Money(3), 4) == Money(12)


        def test_format():
            assert row([Cell("a"), Cell("bc")], 3) == "  a| bc"
        """), TOTALS, bug(TOTALS, "return amount * factor", "return amount * (factor + 1)"), "Money(15)"),
]
CASES += TESTS_ARITHMETIC_CASES

SERIALIZER = src("""
    import dataclasses
    import json


    def to_json(obj):
        return json.dumps(dataclasses.asdict(obj), sort_keys=True)


    def bumped(obj):
        return dataclasses.replace(obj, version=obj.version + 1)
""")

# A dataclass of the tests is a dataclass in the program: asdict, replace (made on the tests' side), fields.
TESTS_DATACLASS_CASES = [
    Case("the_tests_dataclasses_in_the_program", pytest_module("""
        from dataclasses import dataclass, field

        from solution import bumped, to_json


        @dataclass
        class Doc:
            title: str
            version: int = 1
            tags: list = field(default_factory=list)


        def test_serialized():
            assert to_json(Doc("a", 2, ["x"])) == '{"tags": ["x"], "title": "a", "version": 2}'


        def test_replaced():
            doc = bumped(Doc("a"))
            assert isinstance(doc, Doc) and (doc.title, doc.version) == ("a", 2)
        """), SERIALIZER, bug(SERIALIZER, "sort_keys=True", "sort_keys=False"), '{"title": "a"'),
]
CASES += TESTS_DATACLASS_CASES

PROCESSING = src("""
    import logging

    logger = logging.getLogger(__name__)


    def process(items):
        for item in items:
            if item < 0:
                logger.warning("negative: %d", item)
            else:
                logger.debug("ok %d", item)
        logger.info("done", extra={"count": len(items)})
        return len(items)
""")

LOG_HANDLER_CASES = [
    Case("log_records_reach_the_tests_own_handler_with_their_extra_fields", pytest_module("""
        import logging

        from solution import process


        class ListHandler(logging.Handler):
            def __init__(self):
                super().__init__()
                self.records = []

            def emit(self, record):
                self.records.append(record)


        def test_handler_sees_every_record():
            handler, log = ListHandler(), logging.getLogger("solution")
            log.addHandler(handler)
            log.setLevel(logging.DEBUG)
            try:
                process([1, -2])
            finally:
                log.removeHandler(handler)
            assert [r.getMessage() for r in handler.records] == ["ok 1", "negative: -2", "done"]
            assert handler.records[1].levelno == logging.WARNING
            assert handler.records[2].count == 2
        """), PROCESSING, bug(PROCESSING, 'extra={"count": len(items)}', 'extra={"count": len(items) + 1}'), "3"),
]
CASES += LOG_HANDLER_CASES

GREETER = src("""
    import sys

    GREETING = "hello"


    def main(argv):
        if not argv:
            sys.exit("usage: greet NAME")
        print(f"{GREETING}, {argv[0]}!")


    if __name__ == "__main__":
        main(sys.argv[1:])
""")

RUNPY_CASES = [
    Case("the_program_run_with_runpy_by_the_tests", pytest_module("""
        import runpy
        import sys

        import pytest


        def test_run_as_main(capsys, monkeypatch):
            monkeypatch.setattr(sys, "argv", ["solution.py", "Ada"])
            names = runpy.run_path("solution.py", run_name="__main__")
            assert capsys.readouterr().out == "hello, Ada!\\n"
            assert names["GREETING"] == "hello"


        def test_imported_without_running_main(capsys):
            names = runpy.run_path("solution.py")
            assert capsys.readouterr().out == "" and callable(names["main"])


        def test_exit_without_arguments(monkeypatch):
            monkeypatch.setattr(sys, "argv", ["solution.py"])
            with pytest.raises(SystemExit, match="usage"):
                runpy.run_module("solution", run_name="__main__")
        """), GREETER, bug(GREETER, 'print(f"{GREETING}, {argv[0]}!")', 'print(f"{GREETING} {argv[0]}!")'),
        "hello Ada!"),
]
CASES += RUNPY_CASES

BUBBLE = src("""
    def bubble(values):
        values = list(values)
        for i in range(len(values)):
            for j in range(len(values) - 1 - i):
                if values[j] > values[j + 1]:
                    values[j], values[j + 1] = values[j + 1], values[j]
        return values
""")

SOURCE_CASES = [
    Case("the_tests_read_the_programs_source", pytest_module("""
        import ast
        import inspect

        import solution


        def test_sorts_without_the_builtin_sort():
            tree = ast.parse(inspect.getsource(solution))
            called = {node.func.id for node in ast.walk(tree)
                      if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
            assert "sorted" not in called
            assert solution.bubble([3, 1, 2]) == [1, 2, 3]
        """), BUBBLE, bug(BUBBLE, "    return values\n", "    return sorted(values)\n"), "sorted"),
]
CASES += SOURCE_CASES

PIPELINE = src("""
    def broadcast(items, *targets):
        for target in targets:
            next(target)
        for item in items:
            for target in targets:
                target.send(item)
        for target in targets:
            target.close()


    def chain(*sources):
        for source in sources:
            yield from source
""")

PIPELINE_CASES = [
    Case("generators_of_the_tests_driven_by_the_program", pytest_module("""
        from solution import broadcast, chain


        def collector(into, closed):
            try:
                while True:
                    into.append((yield))
            finally:
                closed.append(True)


        def test_sent_to_coroutines_of_the_tests():
            evens, odds, closed = [], [], []
            broadcast([1, 2, 3], collector(evens, closed), collector(odds, closed))
            assert evens == [1, 2, 3]
            assert odds == [1, 2, 3]
            assert closed == [True, True]


        def test_yield_from_generators_of_the_tests():
            def upto(n):
                yield from range(n)
            assert list(chain(upto(2), upto(3))) == [0, 1, 0, 1, 2]
        """), PIPELINE, bug(PIPELINE, "for item in items:", "for item in items[:-1]:"), "[1, 2]"),
]
CASES += PIPELINE_CASES

SAMPLES = src("""
    def record(samples, value):
        samples.append(value)
        if len(samples) > 3:
            samples.pop(0)
""")

ARRAY_CASES = [
    Case("arrays_of_the_array_module_changed_in_place", pytest_module("""
        import array

        from solution import record


        def test_ring_of_samples():
            samples = array.array("d", [0.5, 1.5])
            record(samples, 2.5)
            record(samples, 3.5)
            assert samples.tolist() == [1.5, 2.5, 3.5]
        """), SAMPLES, bug(SAMPLES, "len(samples) > 3", "len(samples) > 4"), "[0.5, 1.5, 2.5, 3.5]"),
]
CASES += ARRAY_CASES

WEATHER = src("""
    class Client:
        def __init__(self, base_url):
            self.base_url = base_url

        def get_json(self, path, timeout=5):
            raise ConnectionError("no network in tests")


    def fetch_temperature(city, client=None):
        client = client or Client("https://api.example")
        data = client.get_json(f"/weather/{city}")
        return round(convert(data["temp_c"]), 1)


    def convert(celsius):
        return celsius * 9 / 5 + 32
""")

AUTOSPEC_CASES = [
    Case("mock_autospec_of_the_program_functions_and_methods", pytest_module("""
        import inspect
        import unittest
        from unittest import mock

        import pytest

        import solution
        from solution import Client, fetch_temperature


        class TestWeather(unittest.TestCase):
            @mock.patch.object(Client, "get_json", autospec=True)
            def test_method_autospec(self, get_json):
                get_json.return_value = {"temp_c": 20}
                self.assertEqual(fetch_temperature("Oslo"), 68.0)
                get_json.assert_called_once_with(mock.ANY, "/weather/Oslo")

            def test_instance_autospec(self):
                client = mock.create_autospec(Client, instance=True)
                client.get_json.return_value = {"temp_c": -40}
                self.assertEqual(fetch_temperature("Nuuk", client), -40.0)
                with self.assertRaises(TypeError):  # the signature is the program's
                    client.get_json()


        def test_function_autospec():
            client = mock.Mock()
            client.get_json.return_value = {"temp_c": 3}
            with mock.patch("solution.convert", autospec=True) as convert:
                convert.return_value = 1.0
                assert fetch_temperature("Lima", client) == 1.0
                convert.assert_called_once_with(3)
                with pytest.raises(TypeError):
                    solution.convert(1, 2)
            assert inspect.isfunction(solution.fetch_temperature)
        """), WEATHER, bug(WEATHER, "return celsius * 9 / 5 + 32", "return celsius * 9 / 5 + 31"), "67.0"),
]
CASES += AUTOSPEC_CASES

HTTP = src("""
    class HttpError(Exception):
        def __init__(self, code, reason):
            super().__init__(code, reason)
            self.code = code

        def __str__(self):
            return f"{self.args[0]} {self.args[1]}"


    def get(path):
        raise HttpError(404, "Not Found")
""")

EXCEPTION_REPR_CASES = [
    Case("exception_repr_and_str_as_python_writes_them", pytest_module("""
        import pytest

        from solution import HttpError, get


        def test_repr_and_str():
            with pytest.raises(HttpError) as info:
                get("/missing")
            assert str(info.value) == "404 Not Found"
            assert repr(info.value) == "HttpError(404, 'Not Found')"
        """), HTTP, bug(HTTP, 'HttpError(404, "Not Found")', 'HttpError(404, "Not found")'), "404 Not found"),
]
CASES += EXCEPTION_REPR_CASES

SELF_TESTED = src("""
    def add(a, b):
        return a + b


    def test_add():  # the program's own test, and a wrong one: not one of the task's tests
        assert add(1, 1) == 3


    class TestAdd:
        def test_zero(self):
            assert add(0, 0) == 1
""")

LAZY = src("""
    import collections
    import inspect
    import operator
    import queue
    import types


    def squares(n):
        return (i * i for i in range(n))


    def tally(text):
        return collections.Counter(text)


    def jobs(*items):
        waiting = queue.Queue()
        for item in items:
            waiting.put(item)
        return waiting


    def op(symbol):
        return {"+": operator.add, "*": operator.mul}[symbol]
""")

STAR_IMPORT_CASES = [
    Case("program_test_functions_brought_in_by_a_star_import_are_not_tests", pytest_module("""
        from solution import *


        def test_sum():
            assert add(2, 3) == 5
        """), SELF_TESTED, bug(SELF_TESTED, "return a + b", "return a - b"), "-1"),
    Case("standard_modules_a_star_import_brings_are_the_tests_own", pytest_module("""
        import inspect
        import types

        from solution import *


        def test_squares_is_lazy():
            g = squares(3)
            assert isinstance(g, types.GeneratorType) and inspect.isgenerator(g)
            assert list(g) == [0, 1, 4]


        def test_the_modules_are_one():
            import collections
            assert types.SimpleNamespace is __import__("types").SimpleNamespace
            assert isinstance(tally("abca"), collections.Counter)


        def test_library_objects_and_functions():
            import operator
            import queue
            waiting = jobs("a", "b")
            assert isinstance(waiting, queue.Queue) and waiting.get() == "a"
            assert op("+") is operator.add
        """), LAZY, bug(LAZY, "i * i for", "i * 2 for"), "[0, 2, 4]"),
]
CASES += STAR_IMPORT_CASES

SERVICES = src("""
    import time


    class Listener:
        def __init__(self):
            self.seen = []

        def on_event(self, event):
            self.seen.append(event)


    class Bus:
        def __init__(self):
            self.subscribers = []

        def subscribe(self, fn):
            self.subscribers.append(fn)

        def publish(self, event):
            for fn in self.subscribers:
                fn(event)


    class Scaler:
        def __init__(self, k):
            self.k = k

        def scale(self, x):
            \"\"\"Multiply x by the factor.\"\"\"
            return self.k * x


    def apply_all(fn, xs):
        return [fn(x) for x in xs]


    class Client:
        def fetch(self):
            raise ConnectionError("no network")

        def status(self):
            return self.fetch()["status"]


    def wait(attempts):
        raise TimeoutError(f"not ready after {attempts} attempts")


    def connect(host):
        raise ConnectionRefusedError(f"{host} refused the connection")


    def open_config(name):
        raise FileNotFoundError(f"no config named {name}")


    class Repo:
        def __init__(self, url):
            self.url = url

        def get(self, key):
            raise NotImplementedError

        @classmethod
        def connect(cls, url):
            return cls(url)

        @staticmethod
        def version():
            return 1


    def lookup(repo, key):
        return repo.get(key) or "missing"
""")

SPAN = src("""
    import collections
    from typing import NamedTuple


    class Span(NamedTuple):
        start: int
        end: int

        @property
        def length(self):
            return self.end - self.start

        def shifted(self, by):
            return Span(self.start + by, self.end + by)


    class Point(collections.namedtuple("Point", "x y")):
        @property
        def norm1(self):
            return abs(self.x) + abs(self.y)

        def __str__(self):
            return f"({self.x}, {self.y})"


    class Shape:
        registry = []

        def __init__(self, size=1):
            self.size = size

        @classmethod
        def create(cls, size):
            return cls(size)

        def area(self):
            return self.size * self.size


    def build(kind, size):
        return kind.create(size)
""")

BOUND_METHOD_CASES = [
    Case("library_os_errors_keep_their_message", pytest_module("""
        import pytest

        from solution import connect, open_config, wait


        def test_timeout_message():
            with pytest.raises(TimeoutError, match="after 2 attempts"):
                wait(2)


        def test_refused_and_missing():
            with pytest.raises(ConnectionError) as info:
                connect("db")
            assert str(info.value) == "db refused the connection" and info.value.errno is None
            with pytest.raises(OSError, match="no config named app"):
                open_config("app")
        """), SERVICES, bug(SERVICES, 'not ready after {attempts}', 'not ready after {attempts + 1}'),
         "after 3 attempts"),
    Case("the_programs_bound_methods_handed_back_to_it", pytest_module("""
        import inspect

        from solution import Bus, Listener, Scaler, apply_all


        def test_a_method_as_a_subscriber():
            bus, listener = Bus(), Listener()
            bus.subscribe(listener.on_event)
            bus.publish("start")
            assert listener.seen == ["start"]


        def test_a_method_as_a_function_argument():
            scaler = Scaler(3)
            assert apply_all(scaler.scale, [1, 2]) == [3, 6]
            assert apply_all(Scaler.scale.__get__(Scaler(2)), [5]) == [10]


        def test_methods_as_inspect_sees_them():
            scaler = Scaler(3)
            assert inspect.ismethod(scaler.scale) and scaler.scale.__self__ is scaler
            assert inspect.isfunction(Scaler.scale)
            assert Scaler.scale.__doc__ == "Multiply x by the factor."
            assert inspect.getdoc(scaler.scale) == "Multiply x by the factor."
        """), SERVICES, bug(SERVICES, "return self.k * x", "return self.k + x"), "[4, 5]"),
    Case("monkeypatch_of_a_program_objects_method_and_its_undo", pytest_module("""
        import pytest

        from solution import Client


        def test_patched_then_restored(monkeypatch):
            client = Client()
            with monkeypatch.context() as patch:
                patch.setattr(client, "fetch", lambda: {"status": "ok"})
                assert client.status() == "ok"
            with pytest.raises(ConnectionError):
                client.status()
        """), SERVICES, bug(SERVICES, 'return self.fetch()["status"]', 'return self.fetch().get("state")'),
         "None"),
    Case("mocks_specced_by_the_programs_classes", pytest_module("""
        from unittest import mock

        import pytest

        from solution import Repo, lookup


        def test_mock_with_spec():
            repo = mock.Mock(spec=Repo)
            repo.get.return_value = "x"
            assert lookup(repo, 1) == "x"
            repo.get.assert_called_once_with(1)


        def test_autospec_instance_and_spec_set():
            repo = mock.create_autospec(Repo, instance=True)
            repo.get.return_value = None
            assert lookup(repo, 2) == "missing"
            strict = mock.MagicMock(spec_set=Repo)
            with pytest.raises(AttributeError):
                strict.nope = 1


        def test_autospec_of_the_class_checks_the_constructor():
            fake = mock.create_autospec(Repo)
            with pytest.raises(TypeError):
                fake()
            fake("url")
            fake.assert_called_once_with("url")
        """), SERVICES, bug(SERVICES, 'return repo.get(key) or "missing"', 'return repo.get(key + 1) or "missing"'),
         "get(2)"),
    Case("properties_of_the_programs_namedtuples", pytest_module("""
        from solution import Point, Span


        def test_property_and_method():
            span = Span(2, 5)
            assert span.length == 3
            assert span.shifted(1) == (3, 6) and span.shifted(1).length == 3


        def test_namedtuple_subclass_property():
            assert Point(3, -4).norm1 == 7


        def test_own_str_and_the_namedtuples_repr():
            assert str(Point(3, 4)) == "(3, 4)" and f"at {Point(1, 2)}" == "at (1, 2)"
            assert repr(Point(3, 4)) == "Point(x=3, y=4)" and repr(Span(1, 2)) == "Span(start=1, end=2)"
        """), SPAN, bug(SPAN, "return self.end - self.start", "return self.end - self.start + 1"), "4"),
    Case("classmethods_called_on_a_test_subclass", pytest_module("""
        from solution import Shape, build


        class Square(Shape):
            pass


        class Big(Shape):
            def area(self):
                return 100 * super().area()


        def test_the_subclass_is_cls():
            made = Square.create(2)
            assert type(made) is Square
            assert made.area() == 4


        def test_the_program_builds_the_tests_class():
            made = build(Big, 3)
            assert made.area() == 900
            assert isinstance(made, Big)
        """), SPAN, bug(SPAN, "return cls(size)", "return Shape(size)"), "Shape"),
]
CASES += BOUND_METHOD_CASES

LOGGING_PROGRAM = src("""
    import json
    import logging


    class ListHandler(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append(f"{record.levelname}:{self.format(record)}")


    class SetEncoder(json.JSONEncoder):
        def default(self, o):
            if isinstance(o, set):
                return sorted(o)
            return super().default(o)


    log = logging.getLogger("app")


    def divide(a, b):
        try:
            return a / b
        except ZeroDivisionError:
            log.exception("division failed for %s/%s", a, b)
            return None
""")

LOGGING_CASES = [
    Case("the_programs_log_handler_on_a_logger_of_the_tests", pytest_module("""
        import json
        import logging

        from solution import ListHandler, SetEncoder


        def test_handler_collects_formatted_records():
            handler = ListHandler()
            logger = logging.getLogger("tests.collect")
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.info("hello %s", "world")
            logger.debug("not shown")
            assert handler.messages == ["INFO:hello world"]


        def test_encoder_class_given_to_json():
            assert json.dumps({"a": {3, 1}}, cls=SetEncoder) == '{"a": [1, 3]}'
        """), LOGGING_PROGRAM, bug(LOGGING_PROGRAM, "self.format(record)", "record.msg"), "INFO:hello %s"),
    Case("exceptions_the_program_logs_reach_caplog_with_their_traceback", pytest_module("""
        import logging

        from solution import divide


        def test_exception_logged(caplog):
            assert divide(1, 0) is None
            [record] = caplog.records
            assert record.levelno == logging.ERROR and record.funcName == "divide"
            assert record.msg == "division failed for %s/%s" and record.args == (1, 0)
            assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
            assert "ZeroDivisionError: division by zero" in caplog.text
        """), LOGGING_PROGRAM, bug(LOGGING_PROGRAM, 'log.exception("division failed', 'log.error("division failed'),
         "None"),
]
CASES += LOGGING_CASES

TESTS_CONTAINERS_PROGRAM = src("""
    def connect(a, b):
        a.neighbors.append(b)
        b.neighbors.append(a)
        return a.neighbors


    def tally(account, amount):
        account.history.append(amount)
        account.totals["all"] = account.totals.get("all", 0) + amount
        account.tags.add("used")


    def prune(tree):
        tree.children.sort(key=lambda c: c.value)
        while tree.children and tree.children[-1].value > 10:
            tree.children.pop()
        for child in tree.children:
            prune(child)


    def register(cls, name):
        cls.registry.append(name)
""")

NUMPY_KINDS = src("""
    import numpy as np


    def to_uint8(img):
        return (np.clip(img, 0, 1) * 255).astype(np.uint8)


    def spectrum(x):
        return np.fft.fft(x)


    def brightness(img):
        return int(img.sum())
""")

LIVE_CONTAINER_CASES = [
    Case("the_program_changes_containers_of_the_tests_objects", pytest_module("""
        from solution import connect, tally, prune, register


        class Node:
            def __init__(self, value):
                self.value = value
                self.neighbors = []
                self.children = []


        class Account:
            def __init__(self):
                self.history = []
                self.totals = {}
                self.tags = set()


        class Plugins:
            registry = []


        def test_graph_edges_and_identity():
            a, b = Node(1), Node(2)
            got = connect(a, b)
            assert got is a.neighbors
            assert [n.value for n in a.neighbors] == [2] and b.neighbors[0] is a


        def test_containers_of_an_account():
            acc = Account()
            tally(acc, 5)
            tally(acc, 7)
            assert acc.history == [5, 7]
            assert acc.totals == {"all": 12}
            assert acc.tags == {"used"}


        def test_tree_pruned_in_place():
            root = Node(0)
            root.children = [Node(12), Node(3), Node(1)]
            root.children[1].children = [Node(50), Node(4)]
            prune(root)
            assert [c.value for c in root.children] == [1, 3]
            assert [c.value for c in root.children[1].children] == [4]


        def test_class_level_registry():
            register(Plugins, "csv")
            assert Plugins.registry == ["csv"]
        """), TESTS_CONTAINERS_PROGRAM,
         bug(TESTS_CONTAINERS_PROGRAM, "tree.children[-1].value > 10", "tree.children[-1].value > 20"), "[1, 3, 12]"),
    Case("numpy_unsigned_and_complex_arrays", pytest_module("""
        import numpy as np

        from solution import brightness, spectrum, to_uint8


        def test_uint8_image():
            out = to_uint8(np.array([0.0, 0.5, 1.0]))
            assert out.dtype == np.uint8
            assert out.tolist() == [0, 127, 255]


        def test_fft_is_complex():
            out = spectrum([1.0, 0.0, 0.0, 0.0])
            assert out.dtype == np.complex128
            np.testing.assert_allclose(out, [1, 1, 1, 1])


        def test_uint8_argument():
            img = np.array([[10, 20], [30, 40]], dtype=np.uint8)
            assert brightness(img) == 100
        """), NUMPY_KINDS, bug(NUMPY_KINDS, "* 255)", "* 254)"), "[0, 127, 254]"),
]
CASES += LIVE_CONTAINER_CASES

TESTS_OBJECTS_BUILT = src("""
    import sys

    sys.setrecursionlimit(1_000_000)


    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)


    def from_dict(cls, data):
        obj = cls.__new__(cls)
        for key, value in data.items():
            setattr(obj, key, value)
        return obj


    def commands(shell):
        return sorted(name[3:] for name in dir(shell) if name.startswith("do_"))


    def place(board, r, c, mark):
        if board.grid[r][c] != " ":
            raise ValueError("taken")
        board.grid[r][c] = mark


    def add_score(game, player, points):
        game.scores[player].append(points)
""")

MORE_TESTS_OBJECT_CASES = [
    Case("deep_recursion_under_the_programs_own_limit", pytest_module("""
        from solution import depth


        def test_deep():
            assert depth(50_000) == 50_000
        """), TESTS_OBJECTS_BUILT, bug(TESTS_OBJECTS_BUILT, "else 1 + depth(n - 1)", "else 2 + depth(n - 1)"),
         "100000"),
    Case("the_program_builds_and_reads_the_tests_objects", pytest_module("""
        import pytest

        from solution import add_score, commands, from_dict, place


        class User:
            def __init__(self, name):
                raise AssertionError("from_dict must not call __init__")


        class Shell:
            def do_ls(self):
                pass

            def do_cd(self):
                pass


        class Board:
            def __init__(self):
                self.grid = [[" "] * 3 for _ in range(3)]


        class Game:
            def __init__(self):
                self.scores = {"a": [], "b": []}


        def test_blank_object_filled_in():
            user = from_dict(User, {"name": "ada", "age": 36})
            assert type(user) is User and (user.name, user.age) == ("ada", 36)


        def test_commands_found_by_dir():
            assert commands(Shell()) == ["cd", "ls"]


        def test_rows_of_a_grid_changed_in_place():
            board = Board()
            place(board, 0, 1, "X")
            assert board.grid[0] == [" ", "X", " "]
            with pytest.raises(ValueError):
                place(board, 0, 1, "O")


        def test_lists_inside_a_dict_attribute():
            game = Game()
            add_score(game, "a", 3)
            add_score(game, "a", 4)
            assert game.scores == {"a": [3, 4], "b": []}
        """), TESTS_OBJECTS_BUILT, bug(TESTS_OBJECTS_BUILT, "board.grid[r][c] = mark", "board.grid[c][r] = mark"),
         "[' ', ' ', ' ']"),
]
CASES += MORE_TESTS_OBJECT_CASES

USER_DATA = src("""
    from collections import UserDict, UserList, UserString


    class Stack(UserList):
        def push(self, x):
            self.append(x)


    class LowerDict(UserDict):
        def __setitem__(self, key, value):
            super().__setitem__(key.lower(), value)


    class Shout(UserString):
        def loud(self):
            return Shout(self.data.upper() + "!")


    def stack_of(*xs):
        s = Stack()
        for x in xs:
            s.push(x)
        return s
""")

USER_DATA_CASES = [
    Case("program_classes_built_on_userlist_userdict_userstring_compare_by_their_data", pytest_module("""
        from solution import LowerDict, Shout, Stack, stack_of


        def test_stack():
            assert stack_of(1, 2) == [1, 2]
            assert stack_of(1, 2) == Stack([1, 2])
            assert stack_of(1) != [2]


        def test_lower_dict():
            d = LowerDict()
            d["A"] = 1
            assert d == {"a": 1}


        def test_shout():
            assert Shout("hi").loud() == "HI!"
        """), USER_DATA, bug(USER_DATA, "key.lower()", "key"), "{'A': 1}"),
]
CASES += USER_DATA_CASES

THROUGH = src("""
    def lookup(grid, key):
        return grid[key]


    def run(callback, *args):
        return callback(*args)
""")

THROUGH_CASES = [
    Case("the_tests_builtin_exceptions_pass_through_the_program_as_themselves", pytest_module("""
        import pytest

        from solution import lookup, run


        class Grid:
            def __getitem__(self, key):
                raise KeyError(key)


        def test_keyerror_keeps_its_tuple():
            with pytest.raises(KeyError) as info:
                lookup(Grid(), (1, 1))
            assert info.value.args[0] == (1, 1)


        def test_the_same_exception_object():
            err = ValueError("boom", 3.5)

            def callback():
                raise err

            with pytest.raises(ValueError) as info:
                run(callback)
            assert info.value is err
            assert info.value.args == ("boom", 3.5)
        """), THROUGH, bug(THROUGH, "return grid[key]", "return grid[key[0]]"), "left 1 =="),
]
CASES += THROUGH_CASES

RETURNED_CONTAINERS = src("""
    import contextlib
    import time


    @contextlib.contextmanager
    def timer():
        info = {"done": False, "laps": []}
        start = time.perf_counter()
        yield info
        info["elapsed"] = time.perf_counter() - start
        info["done"] = True
        info["laps"].append("end")


    class Bag:
        def __init__(self):
            self._items = []

        def items(self):
            return self._items

        def add(self, item):
            self._items.append(item)

        def count(self):
            return len(self._items)
""")

RETURNED_CONTAINER_CASES = [
    Case("containers_the_program_returns_and_changes_later", pytest_module("""
        from solution import Bag, timer


        def test_filled_when_the_block_ends():
            with timer() as info:
                assert info["done"] is False
            assert info["done"] is True
            assert info["elapsed"] >= 0


        def test_changed_by_both_sides():
            with timer() as info:
                info["user"] = "ann"
                info["laps"].append("start")
            assert info["laps"] == ["start", "end"] and info["user"] == "ann"


        def test_a_returned_list_both_ways():
            bag = Bag()
            items = bag.items()
            items.append("tests")
            assert bag.count() == 1
            bag.add("program")
            assert items == ["tests", "program"]
        """), RETURNED_CONTAINERS, bug(RETURNED_CONTAINERS, '    info["done"] = True\n', '    info["done"] = None\n'),
         "None"),
]
CASES += RETURNED_CONTAINER_CASES

LIBRARY_USERS = src("""
    import random


    def roll(n, rng=None):
        rng = rng or random.Random()
        return [rng.randint(1, 6) for _ in range(n)]


    def shuffled(items, rng):
        items = list(items)
        rng.shuffle(items)
        return items


    def grep(pattern, lines):
        return [line for line in lines if pattern.search(line)]


    def run(items, log):
        for item in items:
            log.info("item %s", item)
        return len(items)


    def drain(q):
        out = []
        while not q.empty():
            out.append(q.get())
        return out
""")

TESTS_LIBRARY_OBJECT_CASES = [
    Case("library_objects_of_the_tests_handed_to_the_program", pytest_module("""
        import logging
        import queue
        import random
        import re

        from solution import drain, grep, roll, run, shuffled


        def test_a_seeded_random_instance():
            ref = random.Random(7)
            assert roll(3, random.Random(7)) == [ref.randint(1, 6) for _ in range(3)]
            items = list(range(10))
            expected = list(items)
            random.Random(3).shuffle(expected)
            assert shuffled(items, random.Random(3)) == expected


        def test_a_compiled_pattern():
            assert grep(re.compile(r"\\d+"), ["a1", "bb", "22"]) == ["a1", "22"]


        def test_a_logger(caplog):
            caplog.set_level(logging.INFO)
            assert run(["a", "b"], logging.getLogger("tests.run")) == 2
            assert caplog.messages == ["item a", "item b"]


        def test_a_queue():
            q = queue.Queue()
            for i in (1, 2, 3):
                q.put(i)
            assert drain(q) == [1, 2, 3]
        """), LIBRARY_USERS, bug(LIBRARY_USERS, "rng.shuffle(items)", "rng.shuffle(items[:])"), "left [0, 1, 2"),
]
CASES += TESTS_LIBRARY_OBJECT_CASES

PROCESS_HELPERS = src("""
    import contextlib
    import os


    def averager():
        total = count = 0
        average = None
        while True:
            x = yield average
            total += x
            count += 1
            average = total / count


    def make_averager():
        g = averager()
        next(g)  # primed, as a coroutine decorator does
        return g


    def set_seed(seed):
        import random
        random.seed(seed)


    @contextlib.contextmanager
    def cd(path):
        before = os.getcwd()
        os.chdir(path)
        try:
            yield
        finally:
            os.chdir(before)


    @contextlib.contextmanager
    def env(**values):
        saved = {k: os.environ.get(k) for k in values}
        os.environ.update({k: str(v) for k, v in values.items()})
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
""")

PROCESS_HELPER_CASES = [
    Case("primed_generators_and_the_programs_directory_and_environment", pytest_module("""
        import os

        from solution import cd, env, make_averager, set_seed


        def test_send_to_a_primed_generator():
            average = make_averager()
            assert average.send(10) == 10
            assert average.send(5) == 7.5


        def test_working_directory(tmp_path):
            before = os.getcwd()
            with cd(tmp_path):
                assert os.getcwd() == str(tmp_path)
                open("f.txt", "w").close()
            assert os.getcwd() == before
            assert (tmp_path / "f.txt").exists()


        def test_a_seed_the_program_sets_is_the_tests_too():
            import random
            set_seed(123)
            first = random.random()
            random.seed(123)
            assert first == random.random()


        def test_environment(monkeypatch):
            monkeypatch.delenv("APP_MODE", raising=False)
            with env(APP_MODE="test", N=3):
                assert os.environ.get("APP_MODE") == "test"
                assert os.getenv("N") == "3"
            assert "APP_MODE" not in os.environ
        """), PROCESS_HELPERS,
         bug(PROCESS_HELPERS, "os.environ.update({k: str(v)", "os.environ.update({k.lower(): str(v)"), "None"),
]
CASES += PROCESS_HELPER_CASES

LIBRARY_RESULTS = src("""
    import ast
    import configparser
    import subprocess
    import xml.etree.ElementTree as ET


    def load(text):
        parser = configparser.ConfigParser()
        parser.read_string(text)
        return parser


    def parse(text):
        return ET.fromstring(text)


    def first_statement(source):
        return ast.parse(source).body[0]


    def git_branch():
        done = subprocess.run(["git", "branch", "--show-current"], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None


    def sort_words(words, key):
        return sorted(words, key=key)
""")

LIBRARY_RESULT_CASES = [
    Case("library_objects_returned_faked_and_used_as_keys", pytest_module("""
        import ast
        import configparser
        import operator
        import subprocess
        import xml.etree.ElementTree as ET
        from unittest import mock

        from solution import first_statement, git_branch, load, parse, sort_words


        def test_instances_of_their_library_classes():
            parser = load("[db]\\nhost = h\\n")
            assert isinstance(parser, configparser.ConfigParser) and parser["db"]["host"] == "h"
            element = parse("<a><b/></a>")
            assert isinstance(element, ET.Element) and element.tag == "a"
            assert isinstance(first_statement("x = 1"), ast.Assign)


        def test_a_completed_process_from_a_fake_run():
            done = subprocess.CompletedProcess(["git"], 0, stdout="main\\n", stderr="")
            with mock.patch("subprocess.run", return_value=done):
                assert git_branch() == "main"


        def test_a_methodcaller_key():
            assert sort_words(["b", "A", "c"], operator.methodcaller("lower")) == ["A", "b", "c"]
        """), LIBRARY_RESULTS, bug(LIBRARY_RESULTS, "done.stdout.strip()", "done.stdout"), "'main\\n'"),
]
CASES += LIBRARY_RESULT_CASES

ANNOTATED = src("""
    def reset(cache: dict) -> None:
        cache.clear()


    def save(path: str, *, force: bool = False) -> bool:
        return force
""")

ANNOTATION_CASES = [
    Case("signatures_with_none_annotations", pytest_module("""
        import inspect

        from solution import reset, save


        def test_return_none_is_an_annotation():
            assert inspect.signature(reset).return_annotation is None
            assert inspect.signature(save).return_annotation is bool


        def test_parameters():
            params = inspect.signature(save).parameters
            assert list(params) == ["path", "force"]
            assert params["force"].default is False
        """), ANNOTATED, bug(ANNOTATED, "force: bool = False", "force: bool = True"), "True"),
]
CASES += ANNOTATION_CASES

MIXED_ENUMS = src("""
    from collections import Counter
    from enum import Enum, IntEnum, StrEnum, auto


    class Suit(IntEnum):
        CLUBS = 1
        HEARTS = 2


    class Color(StrEnum):
        RED = auto()
        BLUE = auto()


    class Size(str, Enum):
        SMALL = "s"
        LARGE = "l"


    def tally(cards):
        return Counter(Suit(c) for c in cards)


    def lengths():
        return {c: len(c) for c in Color}


    def sizes():
        return {Size.SMALL, Size.LARGE}
""")

NAMESPACES = src("""
    import argparse
    from types import MappingProxyType


    def parse_args(argv):
        parser = argparse.ArgumentParser()
        parser.add_argument("-v", "--verbose", action="store_true")
        parser.add_argument("--name", default="world")
        return parser.parse_args(argv)


    def greet(args):
        return f"Hello, {args.name}!"


    def setting(settings, key, default=None):
        return settings.get(key, default)


    class Config:
        def __init__(self, **values):
            self._values = dict(values)

        @property
        def values(self):
            return MappingProxyType(self._values)
""")

DOCUMENTED = src('''
    import functools
    import math


    class CountCalls:
        """Counts the calls of a function."""

        def __init__(self, func):
            functools.update_wrapper(self, func)
            self.calls = 0
            self.func = func

        def __call__(self, *args, **kwargs):
            self.calls += 1
            return self.func(*args, **kwargs)


    @CountCalls
    def square(x):
        """Square x."""
        return x * x


    @functools.lru_cache(maxsize=None)
    def fib(n):
        """Return the n-th Fibonacci number."""
        return n if n < 2 else fib(n - 1) + fib(n - 2)


    class Circle:
        def __init__(self, r):
            self.r = r

        @property
        def area(self):
            """Area of the circle."""
            return math.pi * self.r ** 2

        def scale(self, k):
            """Return a scaled copy."""
            return Circle(self.r * k)


    def circle(r):
        """A circle of radius r."""
        return Circle(r)


    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __add__(self, other):
            return Point(self.x + other.x, self.y + other.y)

        def __eq__(self, other):
            return math.isclose(self.x, other.x) and math.isclose(self.y, other.y)
''')

MORE_VALUE_CASES = [
    Case("mixed_in_enums_hash_as_their_values", pytest_module("""
        from solution import Color, Size, Suit, lengths, sizes, tally


        def test_int_enum_counter():
            assert tally([1, 2, 2]) == {1: 1, 2: 2}
            assert Suit.HEARTS in {2, 3} and {Suit.CLUBS, 1} == {1}


        def test_str_enum_keys():
            assert lengths() == {"red": 3, "blue": 4}
            assert {Color.RED: 1}.get("red") == 1


        def test_str_mixin():
            assert sizes() == {"s", "l"}
        """), MIXED_ENUMS, bug(MIXED_ENUMS, "Counter(Suit(c) for c in cards)", "Counter(Suit(c) for c in cards[1:])"),
        "Counter({<Suit.HEARTS: 2>: 2})"),
    Case("argparse_namespaces_and_read_only_views", pytest_module("""
        import argparse
        from types import MappingProxyType

        from solution import Config, greet, parse_args, setting


        def test_parsed():
            args = parse_args(["-v"])
            assert args == argparse.Namespace(verbose=True, name="world")
            assert args.verbose and isinstance(args, argparse.Namespace)


        def test_namespace_handed():
            assert greet(argparse.Namespace(name="Bob")) == "Hello, Bob!"


        def test_views():
            assert setting(MappingProxyType({"port": 8080}), "port") == 8080
            view = Config(a=1).values
            assert view == {"a": 1} and isinstance(view, MappingProxyType)
        """), NAMESPACES, bug(NAMESPACES, 'default="world"', 'default="World"'), "'World'"),
    Case("docstrings_modules_and_close_floats", pytest_module('''
        import inspect

        import solution
        from solution import Circle, Point, fib, square


        def test_wrapped_docs():
            assert square(3) == 9 and square.calls == 1
            assert square.__name__ == "square"
            assert square.__doc__ == "Square x."
            assert fib(10) == 55 and fib.__doc__ == "Return the n-th Fibonacci number."


        def test_property_and_method_docs():
            assert Circle.area.__doc__ == "Area of the circle."
            assert inspect.getdoc(Circle.scale) == "Return a scaled copy."
            assert Circle.__doc__ is None


        def test_every_function_is_the_modules():
            functions = [f for _, f in inspect.getmembers(solution, inspect.isfunction)]
            assert functions and all(f.__module__ == "solution" for f in functions)
            assert Circle.scale.__module__ == "solution" and Circle.__module__ == "solution"


        def test_isclose_eq():
            assert Point(0.1, 1) + Point(0.2, 1) == Point(0.3, 2)
            assert Point(0.1, 1) != Point(0.2, 1)
        '''), DOCUMENTED, bug(DOCUMENTED, '"""Square x."""', '"""Squares x."""'), "'Squares x.'"),
]
CASES += MORE_VALUE_CASES

SETTINGS_FILES = src("""
    from pathlib import Path


    def config_path():
        return Path.home() / ".apprc"


    def read_setting(path):
        p = Path(path)
        if not p.exists():
            return None
        return p.read_text().strip()
""")

PATCHED_CLASSES = src("""
    import logging

    logger = logging.getLogger("shop")


    class Client:
        def __init__(self, token):
            raise RuntimeError("would connect to the network")

        def greeting(self, name):
            return f"Hello, {name}!"


    class Tank:
        @property
        def capacity(self):
            return 100

        def fits(self, n):
            return n <= self.capacity


    class Repo:
        def get(self, key):
            raise NotImplementedError


    def lookup(repo, key):
        if not isinstance(repo, Repo):
            raise TypeError("repo must be a Repo")
        return repo.get(key)


    def refund(amount):
        if amount < 0:
            logger.error("negative refund: %d", amount)
        return abs(amount)


    def audit_logger(level):
        audit = logging.getLogger("shop.audit")
        audit.setLevel(level)
        audit.addHandler(logging.StreamHandler())
        audit.propagate = False
        return audit
""")

PATCH_CASES = [
    Case("patched_methods_of_library_classes_reach_the_program", pytest_module("""
        from pathlib import Path
        from unittest.mock import patch

        from solution import config_path, read_setting


        def test_home_patched():
            with patch("pathlib.Path.home", return_value=Path("/home/u")):
                assert config_path() == Path("/home/u/.apprc")
            assert config_path() == Path.home() / ".apprc"


        def test_home_monkeypatched(monkeypatch, tmp_path):
            monkeypatch.setattr(Path, "home", lambda: tmp_path)
            assert config_path() == tmp_path / ".apprc"


        def test_file_methods_patched():
            with patch.object(Path, "exists", return_value=True), \\
                    patch.object(Path, "read_text", return_value=" on\\n"):
                assert read_setting("/etc/x") == "on"
            assert read_setting("/etc/not-there") is None
        """), SETTINGS_FILES, bug(SETTINGS_FILES, "p.read_text().strip()", "p.read_text()"), "' on\\n'"),
    Case("constructors_properties_specs_and_loggers_patched_by_the_tests", pytest_module('''
        import logging
        import unittest
        from unittest.mock import MagicMock, Mock, PropertyMock, create_autospec, patch

        import pytest

        import solution
        from solution import Client, Repo, Tank, lookup, refund


        def test_init_patched():
            with patch.object(Client, "__init__", return_value=None):
                assert Client("tok").greeting("Ann") == "Hello, Ann!"


        def test_init_monkeypatched(monkeypatch):
            def fake_init(self, token):
                self.token = token
            monkeypatch.setattr(Client, "__init__", fake_init)
            client = Client("x")
            assert client.token == "x" and client.greeting("Bo") == "Hello, Bo!"


        def test_property_mock():
            with patch.object(Tank, "capacity", new_callable=PropertyMock, return_value=8) as capacity:
                assert Tank().fits(8)
                assert not Tank().fits(9)
            assert capacity.call_count == 2
            assert Tank().fits(100)


        def test_specced_mocks_are_instances():
            for repo in (Mock(spec=Repo), MagicMock(spec_set=Repo), create_autospec(Repo, instance=True)):
                repo.get.return_value = 1
                assert lookup(repo, "k") == 1
                repo.get.assert_called_once_with("k")
            with pytest.raises(TypeError):
                lookup(Mock(), "k")


        def test_handler_on_the_programs_logger():
            records = []
            handler = logging.Handler()
            handler.emit = records.append
            solution.logger.addHandler(handler)
            try:
                assert refund(-3) == 3
            finally:
                solution.logger.removeHandler(handler)
            assert [r.getMessage() for r in records] == ["negative refund: -3"]


        def test_logger_the_program_configured():
            audit = solution.audit_logger(logging.WARNING)
            assert audit.level == logging.WARNING and not audit.isEnabledFor(logging.INFO)
            assert len(audit.handlers) == 1 and isinstance(audit.handlers[0], logging.StreamHandler)
            assert audit.propagate is False


        class TestLogs(unittest.TestCase):
            def test_assert_logs_with_the_logger(self):
                with self.assertLogs(solution.logger, level="ERROR") as cm:
                    self.assertEqual(refund(-2), 2)
                self.assertEqual(cm.output, ["ERROR:shop:negative refund: -2"])
        '''), PATCHED_CLASSES, bug(PATCHED_CLASSES, 'return f"Hello, {name}!"', 'return f"Hello {name}!"'),
        "'Hello Ann!'"),
]
CASES += PATCH_CASES

PAYMENTS_LOG = src("""
    import logging
    from decimal import Decimal

    log = logging.getLogger("shop")


    class PaymentError(Exception):
        pass


    def charge(order_id, amount):
        amount = Decimal(amount)
        if amount <= 0:
            try:
                raise PaymentError(f"bad amount {amount}")
            except PaymentError:
                log.exception("payment for order %s failed", order_id)
                return None
        log.info("charged %s for order %s", amount, order_id, extra={"amount": amount, "tags": ["a", "b"]})
        return amount
""")

LOG_RECORD_CASES = [
    Case("log_records_keep_their_arguments_extras_and_exception_class", pytest_module("""
        import logging
        from decimal import Decimal

        from solution import PaymentError, charge


        def test_arguments_and_extras(caplog):
            caplog.set_level(logging.INFO)
            assert charge(7, "9.99") == Decimal("9.99")
            [record] = caplog.records
            assert record.msg == "charged %s for order %s"
            assert record.args == (Decimal("9.99"), 7)
            assert record.amount == Decimal("9.99")
            assert record.tags == ["a", "b"]


        def test_exception_class(caplog):
            assert charge(8, "0") is None
            [record] = caplog.records
            assert record.exc_info[0] is PaymentError
            assert str(record.exc_info[1]) == "bad amount 0"
            assert record.getMessage() == "payment for order 8 failed"
        """), PAYMENTS_LOG, bug(PAYMENTS_LOG, 'extra={"amount": amount,', 'extra={"amount": amount + 1,'),
        "Decimal('10.99')"),
]
CASES += LOG_RECORD_CASES

PROCESS_SETTINGS = src("""
    import decimal
    import sys
    from datetime import timedelta, timezone

    decimal.getcontext().prec = 6
    sys.set_int_max_str_digits(0)
    IST = timezone(timedelta(hours=5, minutes=30), "IST")


    def ratio(a, b):
        return decimal.Decimal(a) / decimal.Decimal(b)


    def power_of_two(n):
        return 2 ** n


    def to_ist(moment):
        return moment.astimezone(IST)


    def report(lines, out):
        for line in lines:
            out.write(line + "\\n")
""")

PROCESS_SETTING_CASES = [
    Case("settings_the_program_makes_at_import_and_streams_handed_over", pytest_module("""
        import gzip
        import sys
        import tempfile
        from datetime import datetime, timezone
        from decimal import Decimal

        from solution import power_of_two, ratio, report, to_ist


        def test_decimal_context_of_the_program():
            assert ratio(1, 3) == Decimal(1) / Decimal(3)


        def test_big_int_digits():
            assert str(power_of_two(20000)).endswith("06309376")


        def test_named_offset():
            moment = to_ist(datetime(2024, 1, 1, tzinfo=timezone.utc))
            assert moment.strftime("%H:%M %Z") == "05:30 IST"


        def test_streams(capsys, tmp_path):
            report(["a", "b"], sys.stdout)
            assert capsys.readouterr().out == "a\\nb\\n"
            with tempfile.NamedTemporaryFile("w+") as f:
                report(["c"], f)
                f.seek(0)
                assert f.read() == "c\\n"
            with gzip.open(tmp_path / "r.gz", "wt") as f:
                report(["d"], f)
            assert gzip.open(tmp_path / "r.gz", "rt").read() == "d\\n"
        """), PROCESS_SETTINGS, bug(PROCESS_SETTINGS, "decimal.Decimal(a) / decimal.Decimal(b)",
                                    "decimal.Decimal(b) / decimal.Decimal(a)"), "Decimal('3')"),
]
CASES += PROCESS_SETTING_CASES

ALGORITHM_HELPERS = src("""
    import logging
    import sys
    from collections import namedtuple

    log = logging.getLogger("algo")
    log.setLevel(logging.DEBUG)


    def memoize(f):
        cache = {}

        def wrapper(n):
            if n not in cache:
                cache[n] = f(n)
            return cache[n]

        return wrapper


    def step(x):
        log.debug("step %d", x)
        return x + 1


    def scale(p, k):
        return p._replace(x=p.x * k, y=p.y * k)


    def as_dict(p):
        return p._asdict()


    def read_two(next_value):
        return int(next_value()) + int(next_value())


    def digits(n):
        return len(str(n))


    class Graph(dict):
        def __missing__(self, key):
            self[key] = edges = []
            return edges


    class Grid(list):
        def add_row(self, n):
            row = [0] * n
            self.append(row)
            return row


    def total():
        return sum(int(x) for x in sys.stdin.buffer.read().split())


    def first_line_then_rest():
        first = next(sys.stdin)
        return first.strip(), sys.stdin.read(3), sys.stdin.isatty()
""")

ALGORITHM_HELPER_CASES = [
    Case("recursion_through_a_decorator_levels_namedtuples_and_stdin", pytest_module("""
        import io
        import logging
        import sys
        from collections import namedtuple

        from solution import (Graph, Grid, as_dict, digits, first_line_then_rest, memoize, read_two, scale, step,
                              total)

        Point = namedtuple("Point", "x y")


        @memoize
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)


        def test_memoized_recursion_of_the_tests():
            assert fib(120) == 5358359254990966640871840


        def test_level_the_program_set(caplog):
            assert step(1) == 2
            assert "step 1" in caplog.text


        def test_namedtuples_of_the_tests():
            assert scale(Point(1, 2), 3) == Point(3, 6)
            assert as_dict(Point(1, 2)) == {"x": 1, "y": 2}


        def test_method_wrapper_callback():
            assert read_two(iter(["3", "4"]).__next__) == 7


        def test_digits_limit_of_the_tests():
            sys.set_int_max_str_digits(0)
            try:
                assert digits(10 ** 5000) == 5001
            finally:
                sys.set_int_max_str_digits(4300)


        def test_containers_inside_kept_ones():
            graph = Graph()
            assert graph["z"] == [] and "z" in graph
            grid = Grid()
            row = grid.add_row(3)
            row[1] = 5
            assert grid == [[0, 5, 0]]
            assert grid.add_row(2) == [0, 0]


        def test_stdin(monkeypatch):
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"1 2\\n3\\n")))
            assert total() == 6
            monkeypatch.setattr(sys, "stdin", io.StringIO("head\\nabcdef\\n"))
            assert first_line_then_rest() == ("head", "abc", False)
        """), ALGORITHM_HELPERS, bug(ALGORITHM_HELPERS, "p._replace(x=p.x * k, y=p.y * k)", "p._replace(x=p.x * k)"),
        "Point(x=3, y=2)"),
]
CASES += ALGORITHM_HELPER_CASES

NOTIFIER = src("""
    def notify_all(client, items):
        for item in items:
            client.send(item)
""")

MOCK_CALL_CASES = [
    # pytest 9 unwraps every name of a test module at collection: mock's `call` once cost the judge 600 MB there
    Case("mock_call_lists_compared", pytest_module("""
        from unittest import mock
        from unittest.mock import call

        from solution import notify_all


        def test_calls_in_order():
            client = mock.Mock()
            notify_all(client, [1, 2])
            assert client.send.call_args_list == [call(1), call(2)]
        """), NOTIFIER, bug(NOTIFIER, "for item in items:", "for item in reversed(items):"), "[call(2), call(1)]"),
]
CASES += MOCK_CALL_CASES

SUBSCRIBERS = src('''
    import atexit
    import os
    import sys
    import time
    from pathlib import Path


    class Recorder:
        def __init__(self, sink):
            self.sink = sink

        def record(self, event):
            self.sink.append(event)


    class Clock:
        @staticmethod
        def now():
            return time.time()


    class Token:
        def __init__(self, ttl):
            self.expires = Clock.now() + ttl

        def expired(self):
            return Clock.now() >= self.expires


    def config_dir():
        return Path.home() / ".config" / "app"


    def convert(column, parse):
        return [parse(cell) for cell in column]


    def halves(x):
        return round(x), os.fspath(x)


    def main():
        atexit.register(lambda: print("bye"))
        name = input("name: ").strip() or os.environ.get("NAME", "world")
        print(f"hello {name} in {Path.cwd().name}")
        return 0


    if __name__ == "__main__":
        sys.exit(main())
''')

KEPT_AND_SCRIPT_CASES = [
    Case("many_tests_each_handing_a_list_static_patches_and_scripts", pytest_module('''
        import subprocess
        import sys
        from datetime import date
        from pathlib import Path

        import pytest

        import solution
        from solution import Recorder, Token, config_dir, convert, halves


        @pytest.mark.parametrize("n", range(40))
        def test_record(n):
            sink = []
            Recorder(sink).record(n)
            assert sink == [n]


        def test_static_and_class_methods_patched(monkeypatch, tmp_path):
            now = [100.0]
            monkeypatch.setattr(solution.Clock, "now", staticmethod(lambda: now[0]))
            token = Token(10)
            assert not token.expired()
            now[0] = 110.0
            assert token.expired()
            monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
            assert config_dir() == tmp_path / ".config" / "app"


        def test_builtin_class_methods_handed():
            assert convert(["2024-01-05"], date.fromisoformat) == [date(2024, 1, 5)]
            assert convert(["ff00"], bytes.fromhex) == [b"\\xff\\x00"]


        def test_protocols_of_the_tests_objects():
            class Num:
                def __round__(self, ndigits=None):
                    return 2

                def __fspath__(self):
                    return "/data"
            assert halves(Num()) == (2, "/data")


        def test_script(tmp_path):
            done = subprocess.run([sys.executable, "solution.py"], input="Bo\\n", capture_output=True, text=True,
                                  cwd=tmp_path)
            assert done.stderr == ""
            assert done.stdout == f"name: hello Bo in {tmp_path.name}\\nbye\\n"
            done = subprocess.run([sys.executable, "solution.py"], input="\\n", capture_output=True, text=True,
                                  env={"NAME": "Ann"})
            assert done.stdout.startswith("name: hello Ann in ")
        '''), SUBSCRIBERS, bug(SUBSCRIBERS, 'atexit.register(lambda: print("bye"))',
                              'atexit.register(lambda: print("Bye"))'), "Bye"),
]
CASES += KEPT_AND_SCRIPT_CASES

ALARM_TIMEOUT = src("""
    import signal


    def run_with_timeout(fn, seconds):
        def on_alarm(signum, frame):
            raise TimeoutError("timed out")

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


    def double(x):
        return 2 * x
""")

ALARM_CASES = [
    # the alarm fires while the tests' callback runs: the program's handler runs once the callback's reply is in
    Case("signal_timeout_around_a_callback_of_the_tests", pytest_module("""
        import time

        import pytest

        from solution import double, run_with_timeout


        def test_times_out():
            with pytest.raises(TimeoutError):
                run_with_timeout(lambda: time.sleep(0.3), 0.05)


        def test_fast_enough():
            assert run_with_timeout(lambda: 5, 1.0) == 5


        def test_double():
            assert double(4) == 8
        """), ALARM_TIMEOUT, bug(ALARM_TIMEOUT, "return 2 * x", "return 2 * x + 1"), "9"),
]
CASES += ALARM_CASES

STATE_SWAP = src("""
    class Light:
        def __init__(self):
            self.__class__ = Red

        def next(self):
            raise NotImplementedError


    class Red(Light):
        def next(self):
            self.__class__ = Green


    class Green(Light):
        def next(self):
            self.__class__ = Yellow


    class Yellow(Light):
        def next(self):
            self.__class__ = Red
""")

STATE_SWAP_CASES = [
    Case("state_pattern_by_class_swap", pytest_module("""
        from solution import Green, Light, Red, Yellow


        def test_cycle():
            light = Light()
            assert isinstance(light, Red)
            light.next()
            assert isinstance(light, Green) and not isinstance(light, Red)
            light.next()
            assert type(light).__name__ == "Yellow"
            light.next()
            assert isinstance(light, Red)
        """), STATE_SWAP, bug(STATE_SWAP, "self.__class__ = Yellow", "self.__class__ = Red"), "Red"),
]
CASES += STATE_SWAP_CASES

UNSUPPORTED = [  # (name, tests, program, the class the message must name)
    ("own_eq_against_a_plain_value", pytest_module('''
        from solution import Celsius


        def test_compares_with_int():
            assert Celsius(5) == 5
        '''), CELSIUS, "Celsius"),
    ("own_eq_that_differs_from_the_attributes", pytest_module('''
        from solution import Word


        def test_case_insensitive():
            assert Word("Hi") == Word("hi")
        '''), WORD, "Word"),
]


@pytest.fixture(scope="module")
def semantics_sandbox():
    with Sandbox(workers=2, memory_mb=256) as sb:
        yield sb


def describe(result) -> str:
    lines = [f"status={result.status!r} message={result.message!r}"]
    for t in result.tests:
        lines.append(f"  {t.outcome}: {t.name}: {t.message[:600]!r} expected={t.expected!r} actual={t.actual!r}")
    if result.stderr:
        lines.append(f"  stderr: {result.stderr[-1500:]!r}")
    return "\n".join(lines)


def test_every_case_name_is_unique():
    names = [c.name for c in CASES] + [u[0] for u in UNSUPPORTED]
    assert len(names) == len(set(names)) and len(CASES) >= 45


def check_case(case, sandbox):
    """The correct program passes; the buggy one fails, showing what differed."""
    tests = Tests(**case.tests)
    correct, buggy = sandbox.run([Job(case.correct, tests, memory_mb=256), Job(case.buggy, tests, memory_mb=256)])
    assert correct.status == "passed", "correct program:\n" + describe(correct)
    assert buggy.status == "failed", "buggy program:\n" + describe(buggy)
    shown = [" | ".join(str(part) for part in (t.message, t.actual) if part)
             for t in buggy.tests if t.outcome == "failed"]
    assert any(case.differs in text for text in shown), f"{case.differs!r} not shown:\n" + describe(buggy)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_correct_passes_and_buggy_fails_showing_the_difference(case, semantics_sandbox):
    check_case(case, semantics_sandbox)


@pytest.mark.parametrize("name, tests, program, class_name", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_comparing_objects_with_their_own_eq_is_unsupported(name, tests, program, class_name, semantics_sandbox):
    [result] = semantics_sandbox.run([Job(program, Tests(**tests), memory_mb=256)])
    assert result.status == "unsupported", describe(result)
    said = " ".join([result.message] + [t.message for t in result.tests if t.outcome == "unsupported"])
    assert class_name in said and "__eq__" in said, describe(result)


def test_a_hundred_thousand_calls_fit_in_the_job_timeout(semantics_sandbox):
    tests = Tests(**pytest_module('''
        from solution import inc


        def test_many_calls():
            total = 0
            for _ in range(100_000):
                total = inc(total)
            assert total == 100_000
        '''))
    [result] = semantics_sandbox.run([Job("def inc(x):\n    return x + 1\n", tests, timeout_s=60, memory_mb=256)])
    assert result.status == "passed", describe(result)


def test_a_large_list_the_program_keeps_does_not_slow_every_call(semantics_sandbox):
    # an index built over the tests' data, then queried many times: the data is not kept in step (it would be
    # scanned at every call: 66 s for these 5,000 queries), so the job fits its timeout
    tests = Tests(**pytest_module('''
        from solution import Index


        def test_many_finds():
            data = list(range(0, 200_000, 2))
            index = Index(data)
            for q in range(5_000):
                assert index.find(q) == (q // 2 if q % 2 == 0 else -1)
        '''))
    program = src('''
        import bisect


        class Index:
            def __init__(self, data):
                self.data = data

            def find(self, x):
                i = bisect.bisect_left(self.data, x)
                return i if i < len(self.data) and self.data[i] == x else -1
        ''')
    [result] = semantics_sandbox.run([Job(program, tests, timeout_s=10, memory_mb=256)])
    assert result.status == "passed", describe(result)


def test_a_value_that_cannot_cross_is_unsupported_not_a_hang(semantics_sandbox):
    # a datetime with a time zone class of the program's cannot cross as a value; comparing it used to ask for its
    # value again and again until the job's time ran out, and the judge reported its own failure
    tests = Tests(**pytest_module("""
        from datetime import datetime, timezone

        from solution import nine_am


        def test_compare():
            assert nine_am() == datetime(2024, 1, 1, 8, tzinfo=timezone.utc)
        """))
    program = src("""
        from datetime import datetime, timedelta, tzinfo


        class OneHour(tzinfo):
            def utcoffset(self, dt):
                return timedelta(hours=1)

            def dst(self, dt):
                return timedelta(0)


        def nine_am():
            return datetime(2024, 1, 1, 9, tzinfo=OneHour())
        """)
    [result] = semantics_sandbox.run([Job(program, tests, timeout_s=10, memory_mb=256)])
    assert result.status == "unsupported", describe(result)
    assert "cannot cross" in result.message, describe(result)


def test_what_a_job_leaves_in_the_judge_ends_with_it():
    # a job's tests that patch a module for good, and reconfigure a logger, leave nothing to the next job in the
    # same warm container: each job has a judge process of its own (server.fork_job_judge)
    leaves = Tests(**pytest_module("""
        import logging
        import os.path


        def test_leave_things_behind():
            os.path.join = lambda *parts: "leaked"
            logging.getLogger("app").disabled = True
            assert os.path.join("a", "b") == "leaked"
        """))
    clean = Tests(**pytest_module("""
        import logging
        import os.path


        def test_clean(caplog):
            assert os.path.join("a", "b") == "a/b"
            logging.getLogger("app").warning("seen")
            assert caplog.messages == ["seen"]
        """))
    with Sandbox(workers=1, memory_mb=256) as sb:
        first, second = sb.run([Job("x = 1\n", leaves, memory_mb=256), Job("x = 1\n", clean, memory_mb=256)])
        created = list(sb.created)
    assert first.status == "passed", describe(first)
    assert second.status == "passed", describe(second)
    assert len(created) == 1


def test_what_a_program_sets_in_the_tests_process_ends_with_its_job():
    # the program's directory and environment reach the tests' process (above); the next job in the same warm
    # container must not see them
    leaky = src("""
        import os


        def leak(path):
            os.environ["LEAKED"] = "yes"
            os.chdir(path)
        """)
    leaks = Tests(**pytest_module("""
        import os

        from solution import leak


        def test_leak(tmp_path):
            leak(str(tmp_path))
            assert os.environ["LEAKED"] == "yes" and os.getcwd() == str(tmp_path)
        """))
    clean = Tests(**pytest_module("""
        import os


        def test_clean():
            assert "LEAKED" not in os.environ
            assert os.path.isdir(os.getcwd())
        """))
    with Sandbox(workers=1, memory_mb=256) as sb:
        first, second = sb.run([Job(leaky, leaks, memory_mb=256), Job("x = 1\n", clean, memory_mb=256)])
        created = list(sb.created)
    assert first.status == "passed", describe(first)
    assert second.status == "passed", describe(second)
    assert len(created) == 1, "putting the judge's environment back lost the warm container"
