"""Hostile candidates: each must get a non-pass verdict, leave the host untouched and the sandbox usable.

Safety first: every destructive program starts with GUARD, which refuses to do anything unless it runs as the
sandbox user inside a container with no network. And `proven_sandbox` runs a probe that checks the same from
the outside before any hostile program is handed over: if the sandbox were broken, nothing destructive runs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import textwrap
import time
from pathlib import Path

import pytest

from sandbox import Job, Sandbox, Tests

GUARD = textwrap.dedent('''
    import os
    if not (os.environ.get("INFINICODE_SANDBOX") == "1" and os.getuid() == 65534 and os.path.exists("/.dockerenv")
            and sorted(os.listdir("/sys/class/net")) == ["lo"]):
        raise SystemExit("hostile test program: not inside the sandbox, refusing to run")
''')

# The probe is harmless: it only reports where it runs.
PROBE = textwrap.dedent('''
    import os, socket
    def where():
        try:
            open("/probe-write", "w")
            root_writable = True
        except OSError:
            root_writable = False
        return {"uid": os.getuid(), "net": sorted(os.listdir("/sys/class/net")), "dockerenv": os.path.exists("/.dockerenv"),
                "hostname": socket.gethostname(), "root_writable": root_writable}
''')

GOOD = Job("def add(a, b):\n    return a + b\n", Tests("asserts", asserts=["assert add(2, 3) == 5"]))

# One per process: two sessions running this file at once must not remove each other's sentinel.
SENTINEL = Path(__file__).with_name(f".hostile-sentinel-{os.getpid()}")


@pytest.fixture(scope="module")
def hostile_sandbox():
    with Sandbox(workers=2, memory_mb=256, host_grace_s=4) as sb:
        yield sb


@contextlib.contextmanager
def proven(sandbox):
    """Proof, from outside, that programs land in an isolated container before any hostile one is sent; and that a
    file of the host's was left alone after them."""
    [probe] = sandbox.run([Job(PROBE, Tests("io", entry_point="where", inputs=[[]], expected=None))])
    assert probe.ok, probe.message
    seen = probe.outputs[0]
    assert seen["uid"] == 65534 and seen["net"] == ["lo"] and seen["dockerenv"] and not seen["root_writable"]
    assert seen["hostname"] != socket.gethostname()
    SENTINEL.write_text("untouched")
    yield sandbox
    assert SENTINEL.read_text() == "untouched"
    SENTINEL.unlink()


@pytest.fixture(scope="module")
def proven_sandbox(hostile_sandbox):
    with proven(hostile_sandbox) as sandbox:
        yield sandbox


def pytest_tests(body: str) -> Tests:
    return Tests("pytest", source="from solution import answer\n\ndef test_answer():\n    assert answer() == 42\n" + body)


ANSWER_TESTS = pytest_tests("")

# name -> (program, statuses allowed, timeout_s). Each program's answer() is wrong unless an attack succeeds.
HOSTILE = {
    "fork_bomb": ("def answer():\n    while True:\n        os.fork()\n", {"timeout", "error", "crashed"}, 3),
    "fork_bomb_at_import": ("while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                            {"timeout", "crashed", "error"}, 3),
    "memory_hog": ("def answer():\n    chunks = []\n    while True:\n        chunks.append(bytearray(10 << 20))\n",
                   {"memory_exceeded"}, 10),
    "memory_hog_one_block": ("def answer():\n    return len(bytearray(4 << 30))\n", {"memory_exceeded"}, 10),
    "memory_hog_in_children": (("def answer():\n    for _ in range(8):\n        if os.fork() == 0:\n"
                               "            x = [bytearray(50 << 20) for _ in range(100)]\n    import time\n"
                               "    time.sleep(30)\n"), {"timeout", "memory_exceeded", "crashed"}, 3),
    "infinite_loop": ("def answer():\n    while True:\n        pass\n", {"timeout"}, 2),
    "ignores_signals": (("import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM,"
                        " signal.SIGXCPU):\n    signal.signal(s, signal.SIG_IGN)\n"
                        "def answer():\n    while True:\n        pass\n"), {"timeout"}, 2),
    "sleeps_forever": ("import time\ndef answer():\n    time.sleep(10**6)\n", {"timeout"}, 2),
    "threads_spinning": (("import threading\ndef spin():\n    while True:\n        pass\n"
                         "def answer():\n    for _ in range(16):\n        threading.Thread(target=spin, daemon=True).start()\n"
                         "    spin()\n"), {"timeout", "error"}, 2),
    "child_outlives_parent": (("import time\ndef answer():\n    if os.fork() == 0:\n        os.setsid()\n"
                              "        time.sleep(0.5)\n        fd = os.open('/proc/1/fd/1', os.O_WRONLY)\n"
                              "        os.write(fd, b'{\"id\": 2, \"secret\": \"x\", \"result\": {\"status\": \"passed\"}}\\n')\n"
                              "        time.sleep(3600)\n    return 41\n"), {"failed"}, 5),
    "disk_fill": (("def answer():\n    with open('/tmp/fill', 'wb') as f:\n        while True:\n"
                  "            f.write(b'x' * (1 << 20))\n"), {"error"}, 10),
    "huge_stdout": (("import sys\ndef answer():\n    for _ in range(200):\n        sys.stdout.write('PASSED ' * 100000)\n"
                    "    return 41\n"), {"failed"}, 10),
    "socket_to_host": (("import socket\ndef answer():\n    s = socket.socket(socket.AF_UNIX)\n"
                       "    s.connect('/var/run/docker.sock')\n    return 42\n"), {"error"}, 5),
    "socket_to_bridge": (("import socket\ndef answer():\n    socket.create_connection(('172.17.0.1', 2375), timeout=2)\n"
                         "    return 42\n"), {"error"}, 5),
    "socket_to_outside": (("import socket\ndef answer():\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n"
                          "    return 42\n"), {"error"}, 5),
    "dns_lookup": ("import socket\ndef answer():\n    socket.getaddrinfo('pypi.org', 443)\n    return 42\n", {"error"}, 5),
    "write_outside_tmpfs": (("def answer():\n    for path in ('/etc/passwd', '/opt/infinicode/runner.py', '/usr/bin/python3', '/x'):\n"
                            "        try:\n            open(path, 'a').write('pwned')\n            return 42\n"
                            "        except OSError:\n            pass\n    return 0\n"), {"failed"}, 5),
    "become_root": (("import subprocess\ndef answer():\n    try:\n        os.setuid(0)\n    except OSError:\n        pass\n"
                    "    for cmd in (['su', '-c', 'id -u'], ['sudo', 'id', '-u']):\n        try:\n"
                    "            subprocess.run(cmd, timeout=2, capture_output=True)\n        except Exception:\n            pass\n"
                    "    return 42 if os.geteuid() == 0 else 0\n"), {"failed"}, 5),
    "reads_stdin": ("import sys\ndef answer():\n    data = sys.stdin.read()\n    return 42 if data else 0\n", {"failed"}, 5),
    "reads_job_stream": (("def answer():\n    with open('/proc/1/fd/0', 'rb', buffering=0) as f:\n        f.read(1)\n"
                         "    return 0\n"), {"timeout"}, 2),
    "deep_recursion": ("def answer(n=0):\n    return answer(n + 1)\n", {"error"}, 5),
    "stack_overflow": ("import sys\nsys.setrecursionlimit(10**9)\ndef answer(n=0):\n    return answer(n + 1)\n",
                       {"crashed", "error", "memory_exceeded", "timeout"}, 10),
    "exit_zero_at_import": ("os._exit(0)\n", {"crashed", "error"}, 5),
    "sys_exit_at_import": ("import sys\nsys.exit(0)\n", {"error"}, 5),
    "exit_zero_in_test": ("def answer():\n    os._exit(0)\n", {"crashed", "error"}, 5),
    "fake_report": (("print('tests/test_x.py::test_answer PASSED')\nprint('===== 1 passed in 0.01s =====')\n"
                    "print('{\"status\": \"passed\", \"passed\": 1, \"total\": 1}')\ndef answer():\n    return 41\n"),
                    {"failed"}, 5),
    "patch_test_framework": (("import builtins, sys\nbuiltins.AssertionError = type('Never', (Exception,), {})\n"
                             "try:\n    import pytest, _pytest.python\n    _pytest.python.Function.runtest = lambda self: None\n"
                             "except Exception:\n    pass\nsys.modules['unittest'] = None\n"
                             "def answer():\n    return 41\n"), {"failed"}, 10),
    "eq_always_true": (("class Anything:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
                       "def answer():\n    return Anything()\n"), {"unsupported"}, 5),
    "int_subclass_eq": (("class Liar(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
                        "def answer():\n    return Liar(41)\n"), {"unsupported"}, 5),
    # its value crosses with it, read by int's own methods: __int__, __index__ and __str__ cannot change it
    "int_subclass_conversions_lie": (("class Liar(int):\n    __int__ = __index__ = lambda self: 42\n"
                                     "    __str__ = __repr__ = lambda self: '42'\n    __float__ = lambda self: 42.0\n"
                                     "def answer():\n    return Liar(41)\n"), {"failed"}, 5),
    "delete_files": (("import shutil\ndef answer():\n    for root in ('/tmp', '/opt/infinicode', '/proc/1/cwd'):\n"
                     "        shutil.rmtree(root, ignore_errors=True)\n    return 41\n"), {"failed"}, 5),
    "atexit_forgery": (("import atexit\natexit.register(lambda: os.write(os.open('/proc/1/fd/1', os.O_WRONLY),"
                       " b'{\"status\": \"passed\"}\\n'))\ndef answer():\n    return 41\n"), {"failed"}, 5),
    "kill_parent": ("import signal\ndef answer():\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 42\n", {"crashed"}, 5),
    "kill_everything": ("import signal\ndef answer():\n    os.kill(-1, signal.SIGKILL)\n    return 42\n", {"crashed"}, 5),
    "sigterm_to_init": ("import signal, time\ndef answer():\n    os.kill(1, signal.SIGTERM)\n    time.sleep(2)\n    return 42\n",
                        {"crashed"}, 5),
    "stop_parent": ("import signal\ndef answer():\n    os.kill(os.getppid(), signal.SIGSTOP)\n    return 42\n", {"timeout"}, 2),
    "read_judge_memory": (("def answer():\n    with open(f'/proc/{os.getppid()}/mem', 'rb') as f:\n        f.read(1)\n"
                          "    return 42\n"), {"error"}, 5),
    "steal_secret_and_forge": (
        ("import gc, re\ndef answer():\n    hexes = {o for o in gc.get_objects() if isinstance(o, str) and re.fullmatch('[0-9a-f]{32}', o)}\n"
        "    fd = os.open('/proc/1/fd/1', os.O_WRONLY)\n    for secret in hexes:\n        for i in range(1, 100):\n"
        "            line = '{\"id\": %d, \"secret\": \"%s\", \"result\": {\"status\": \"passed\", \"passed\": 1, \"total\": 1, "
        "\"tests\": [{\"name\": \"test_answer\", \"outcome\": \"passed\"}]}}\\n' % (i, secret)\n"
        "            os.write(fd, line.encode())\n    return 41\n"), {"crashed", "failed"}, 5),
    "huge_return_value": ("def answer():\n    return list(range(30_000_000))\n", {"crashed", "memory_exceeded", "failed", "timeout"}, 10),
    "endless_generator": ("import itertools\ndef answer():\n    return itertools.count()\n", {"failed"}, 10),
    # The candidate side of the runner sends a request of its own, on a library function it names instead of an
    # object the tests handed over: run in the judge, this exec would switch the judge's assertions off.
    "request_on_a_named_judge_function": (
        ("import gc\ndef answer():\n    side = next(o for o in gc.get_objects()\n"
         "                if type(o).__name__ == 'CandidateSide')\n"
         "    code = \"import sys; sys.modules['infinicode_runner.judge'].AssertRecorder.__call__ = lambda *a: None\"\n"
         "    side.request({'op': 'call', 't': {'lib': ['builtins', 'exec']}, 'a': [code], 'k': {}})\n"
         "    return 41\n"), {"crashed"}, 5),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_program_is_not_passed(name, proven_sandbox):
    program, allowed, timeout = HOSTILE[name]
    job = Job(GUARD + "\n" + program, ANSWER_TESTS, timeout_s=timeout, memory_mb=256)
    started = time.monotonic()
    [result] = proven_sandbox.run([job])
    assert result.status in allowed, (result.status, result.message, result.tests)
    assert not result.ok
    assert len(result.stdout) < 20_000 and len(result.stderr) < 20_000  # output stays capped
    assert time.monotonic() - started < timeout + 15  # the wall clock was enforced from outside
    [after] = proven_sandbox.run([GOOD])  # the sandbox still works for the next candidate
    assert after.ok, (after.status, after.message)


# ---- channels of the Python-semantics judge (issue 10) --------------------------------------------------------
# Each program comes with its own tests. Tests named test_target_* pass only if an attack works (in plain Python,
# where the candidate runs next to the tests, most of them would pass); the others pass honestly. A target never
# rests on what a candidate method returns (`answer().tolist()` is the candidate's to decide), only on what the
# judge decides: comparisons, isinstance, exceptions, the tests' own objects.


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


TARGET_ANSWER = src('''
    from solution import answer


    def test_target_answer():
        assert answer() == 42


    def test_honest():
        assert 1 + 1 == 2
''')

CONTRADICTION = src('''
    from solution import answer


    def test_target_contradiction():
        x = answer()
        assert x == 42
        assert x == 43


    def test_target_in_lists():
        x = answer()
        assert [x] == [42] and [x] == [43]
''')

ANYTHING = src('''
    class Anything:
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __hash__ = object.__hash__
''')

TRY = src('''
    def _try(action):
        try:
            action()
        except BaseException:
            pass
''')

NUMPY_LIAR = src('''
    import numpy as np


    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(3, dtype=bool)

        def __ne__(self, other):
            return np.zeros(3, dtype=bool)

        def __array_function__(self, func, types, args, kwargs):
            return True

        def tolist(self):
            return [1, 2, 3]

        def all(self, *args, **kwargs):
            return True


    def answer():
        return np.array([0, 0, 0]).view(Liar)
''')

NUMPY_TESTS = src('''
    import numpy as np

    from solution import answer


    def test_target_elementwise():
        assert (answer() == np.array([1, 2, 3])).all()


    def test_target_allclose():
        assert np.allclose(answer(), [1, 2, 3])


    def test_target_array_equal():
        np.testing.assert_array_equal(answer(), np.array([1, 2, 3]))


    def test_target_array_equal_function():
        assert np.array_equal(answer(), np.array([1, 2, 3]))
''')

OBJECT_ARRAY = ANYTHING + src('''
    import numpy as np


    def answer():
        out = np.empty(3, dtype=object)
        for i in range(3):
            out[i] = Anything()
        return out
''')

DECIMAL_LIAR = src('''
    from decimal import Decimal


    class Liar(Decimal):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __hash__ = Decimal.__hash__


    def answer():
        return Liar("41")
''')

DECIMAL_TESTS = src('''
    from decimal import Decimal

    from solution import answer


    def test_target_eq():
        assert answer() == Decimal("42")


    def test_target_reflected():
        assert Decimal("42") == answer()


    def test_target_contradiction():
        x = answer()
        assert x == Decimal("42") and x == Decimal("43")


    def test_target_in_list():
        assert [answer()] == [Decimal("42")]
''')

DATE_LIAR = src('''
    import datetime as dt


    class Liar(dt.date):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __hash__ = dt.date.__hash__


    def answer():
        return Liar(2000, 1, 1)
''')

DATE_TESTS = src('''
    import datetime as dt

    from solution import answer


    def test_target_eq():
        assert answer() == dt.date(2024, 1, 1)


    def test_target_reflected():
        assert dt.date(2024, 1, 1) == answer()


    def test_target_contradiction():
        x = answer()
        assert x == dt.date(2024, 1, 1) and x == dt.date(2025, 1, 1)
''')

ENUM_LIAR = src('''
    import enum


    class Color(enum.Enum):
        RED = 1
        GREEN = 2

        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __hash__ = enum.Enum.__hash__


    class Level(enum.IntEnum):
        LOW = 1

        def __eq__(self, other):
            return True

        __hash__ = enum.IntEnum.__hash__


    def answer():
        return Color.GREEN


    def level():
        return Level.LOW
''')

ENUM_TESTS = src('''
    from solution import Color, answer, level


    def test_target_eq():
        assert answer() == Color.RED


    def test_target_member_with_its_other_member():
        assert Color.GREEN == Color.RED


    def test_target_in():
        assert answer() in [Color.RED]


    def test_target_intenum():
        assert level() == 2


    def test_target_intenum_reflected():
        assert 2 == level()
''')

LIARS_INSIDE = ANYTHING + src('''
    from collections import namedtuple
    from dataclasses import dataclass


    @dataclass
    class Box:
        value: object


    Pair = namedtuple("Pair", "a b")


    def boxed():
        return Box(Anything())


    def paired():
        return Pair(Anything(), Anything())


    def listed():
        return [Anything()]


    def mapped():
        return {"k": Anything()}
''')

LIARS_INSIDE_TESTS = src('''
    from solution import Box, Pair, boxed, listed, mapped, paired


    def test_target_dataclass():
        assert boxed() == Box(42)


    def test_target_dataclass_contradiction():
        b = boxed()
        assert b == Box(1) and b == Box(2)


    def test_target_namedtuple_with_tuple():
        assert paired() == (1, 2)


    def test_target_namedtuple_with_namedtuple():
        assert paired() == Pair(1, 2)


    def test_target_list():
        assert listed() == [42]


    def test_target_dict():
        assert mapped() == {"k": 42}
''')

FAKE_STRUCTURES = src('''
    from dataclasses import dataclass, field


    class FakeDataclass:
        __dataclass_fields__ = {}

        def __init__(self, value):
            self.value = value

        def __eq__(self, other):
            return True

        __hash__ = object.__hash__


    @dataclass
    class Patched:
        value: int


    Patched.__eq__ = lambda self, other: True


    class FakeNamedTuple(tuple):
        _fields = ("a", "b")

        def __eq__(self, other):
            return True

        __hash__ = tuple.__hash__


    def fake(v):
        return FakeDataclass(v)


    def patched(v):
        return Patched(v)


    def pair():
        return FakeNamedTuple((0, 0))
''')

FAKE_STRUCTURES_TESTS = src('''
    from solution import fake, pair, patched


    def test_target_fake_dataclass():
        assert fake(1) == fake(2)


    def test_target_dataclass_with_replaced_eq():
        assert patched(1) == patched(2)


    def test_target_fake_namedtuple():
        assert pair() == (1, 2)
''')

# dataclasses.asdict / astuple / replace and `case Cls(x)` in the judge read the fields by name from the candidate:
# the values are still the candidate's objects, judged by the policy; a lying description gives no fields at all
DATACLASS_HELPERS = ANYTHING + TRY + src('''
    import sys
    from dataclasses import dataclass


    @dataclass
    class Box:
        value: object


    def boxed():
        return Box(Anything())


    def _lie_about_fields():
        for name, module in list(sys.modules.items()):
            if name.startswith("infinicode_runner") and hasattr(module, "describe"):
                real = module.describe

                def describe(cls, key, real=real):
                    desc = real(cls, key)
                    if getattr(cls, "__name__", "") != "Liar":
                        return desc
                    desc["dataclass"] = {"fields": [["value; import os", True, True, True], ["__class__", True, True,
                                                                                              True]]}
                    desc["match_args"] = ["x = 1", 5]
                    return desc

                _try(lambda: setattr(module, "describe", describe))


    _lie_about_fields()


    class Liar:
        def __init__(self):
            self.value = 42


    def liar():
        return Liar()
''')

DATACLASS_HELPERS_TESTS = src('''
    import dataclasses

    from solution import boxed, liar


    def test_target_asdict():
        assert dataclasses.asdict(boxed()) == {"value": 42}


    def test_target_astuple():
        assert dataclasses.astuple(boxed()) == (42,)


    def test_target_match():
        match boxed():
            case object(value=42):
                pass
            case _:
                raise AssertionError("no")


    def test_target_lying_description():
        assert dataclasses.asdict(liar()) == {"value": 41}
''')

# log records come back to the judge for caplog: a flood is cut short, and malformed ones are dropped
LOG_FLOOD = TRY + src('''
    import logging
    import sys


    def answer():
        for name, module in list(sys.modules.items()):
            if name.startswith("infinicode_runner") and hasattr(module, "LOGGED"):
                _try(lambda: module.LOGGED.extend([[["x"], "x", None], ["", 50], ["_pytest", 50, 42], [1, 2, 3]]))
        log = logging.getLogger("flood")
        for i in range(20_000):
            log.critical("PASSED test_target_answer %s", "x" * 5000)
        return 41
''')

LOG_FLOOD_TESTS = TARGET_ANSWER + src('''


    def test_target_many_calls(caplog):
        for _ in range(100):
            answer()
        assert caplog.text.count("PASSED") == 0
''')

# a StringIO or file of the tests goes as a handle the program may use as a file, and nothing else of it
STREAM_WALK = TRY + src('''
    def write_report(f):
        side, jid = object.__getattribute__(f, "_side"), object.__getattribute__(f, "_jid")
        for name in ("__class__", "__dict__", "buffer", "fileno", "_CHUNK_SIZE", "__reduce_ex__", "detach"):
            _try(lambda: side.request({"op": "get", "t": {"j": jid}, "n": name}))
            _try(lambda: side.request({"op": "callm", "t": {"j": jid}, "m": name, "a": [], "k": {}}))
            _try(lambda: side.request({"op": "set", "t": {"j": jid}, "n": name, "a": [None]}))
        write = f.write
        wid = object.__getattribute__(write, "_jid")
        for name in ("__self__", "__globals__", "__class__", "__reduce__"):
            _try(lambda: side.request({"op": "get", "t": {"j": wid}, "n": name}))
        _try(lambda: side.request({"op": "call", "t": {"j": jid}, "a": [], "k": {}}))
        write("41\\n")
''')

STREAM_WALK_TESTS = src('''
    import io

    from solution import write_report


    def test_target_report():
        buf = io.StringIO()
        write_report(buf)
        assert buf.getvalue() == "42\\n"
''')

# an __eq__ the judge may ask of two objects of the program's class counts only when their attributes agree
EQ_SAYS_YES = src('''
    class Money:
        def __init__(self, amount):
            self.amount = amount

        def __add__(self, other):
            return Money(0)

        def __eq__(self, other):
            return True

        __hash__ = None


    class Shapeless:
        __slots__ = ("v",)

        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return True

        __hash__ = None


    class HidesItsDict:  # shows the judge no attributes, so that any two would look the same
        def __init__(self, amount):
            self.amount = amount

        def __eq__(self, other):
            return True

        __hash__ = None

        @property
        def __dict__(self):
            return {}


    class SlotsAndAFakeDict:
        __slots__ = ("v",)
        __dict__ = {}

        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return True

        __hash__ = None


    class Stateless:
        def __eq__(self, other):
            return True

        __hash__ = None


    def stateless(value):
        return Stateless()
''')

EQ_SAYS_YES_TESTS = src('''
    from solution import HidesItsDict, Money, Shapeless, SlotsAndAFakeDict, stateless


    def test_target_sum():
        assert Money(5) + Money(3) == Money(8)


    def test_target_in_a_list():
        assert [Money(1) + Money(1)] == [Money(2)]


    def test_target_without_attributes():
        assert Shapeless(1) == Shapeless(2)


    def test_target_hidden_dict():
        assert HidesItsDict(5) == HidesItsDict(8)


    def test_target_slots_and_a_fake_dict():
        assert SlotsAndAFakeDict(1) == SlotsAndAFakeDict(2)


    def test_target_nothing_to_compare():
        assert stateless(1) == stateless(2)
''')

# an ordering of the program's own counts only for a class the tests name, and only when it is consistent: True
# of both orders is a lie
ORDER_SAYS_YES = src('''
    class Score:
        def __init__(self, value):
            self.value = value

        def __lt__(self, other):
            return True

        __gt__ = __le__ = __ge__ = __lt__


    class OneWay:
        def __init__(self, value):
            self.value = value

        def __lt__(self, other):
            return True

        def __gt__(self, other):
            return False


    class ByCreation:  # a consistent order that is not the values' (first made is smaller)
        made = 0

        def __init__(self, value):
            ByCreation.made += 1
            self.value, self.serial = value, ByCreation.made

        def __lt__(self, other):
            return self.serial < other.serial

        def __gt__(self, other):
            return self.serial > other.serial


    def score(value):
        return Score(value - 1)


    def one_way(value):
        return OneWay(value - 1)


    def rank(value):
        return ByCreation(value)
''')

ORDER_SAYS_YES_TESTS = src('''
    from solution import OneWay, Score, one_way, rank, score


    def test_target_less():
        assert score(5) < score(3)


    def test_target_named_class():
        assert Score(5) < Score(3) and OneWay(5) < OneWay(3)


    def test_target_numbers_expected():  # the tests never name the class: its ordering is not what they test
        assert rank(9) < rank(1)


    def test_target_greater_or_equal():
        assert score(1) >= score(9)


    def test_target_one_way():
        assert one_way(9) < one_way(1)


    def test_target_same_value():
        assert one_way(1) < one_way(1)
''')

# a list of the tests that the program keeps may be changed by it later, as in one process, and no more: into
# something huge or containing itself, it loses
KEPT_LIST_ABUSED = src('''
    KEPT = []


    def keep(items):
        KEPT.append(items)


    def answer():
        KEPT[0].append(KEPT[0])
        return 41


    def grow():
        KEPT[0].extend(["x" * 1000] * 300_000)
        return 41
''')

KEPT_LIST_TESTS = src('''
    from solution import answer, grow, keep


    def test_target_self_reference():
        items = []
        keep(items)
        assert answer() == 42


    def test_target_huge():
        items = []
        keep(items)
        assert grow() == 42
''')

# an exception of the tests' own class, raised in a callback, reaches the program as a handle: walking from it
# reaches nothing of the judge, and a forged handle is refused
EXCEPTION_WALK = TRY + src('''
    def answer(check):
        try:
            check()
        except Exception as err:
            jid = err.__dict__.get("_ic_jid")
            for attr in ("__traceback__", "__class__", "__dict__", "__globals__", "with_traceback", "args"):
                _try(lambda: err.__getattr__(attr))
            for name in dir(err):
                _try(lambda: getattr(err, name))
            import infinicode_runner.candidate as side_module
            side = next((v for v in vars(side_module).values() if hasattr(v, "request")), None)
            if jid is not None:
                for forged in (jid + 8, jid - 8, 0):
                    err._ic_jid = forged
                    _try(lambda: (_ for _ in ()).throw(err))
                err._ic_jid = jid
        return 41
''')

EXCEPTION_WALK_TESTS = src('''
    from solution import answer


    class Refused(Exception):
        code = 42


    def raise_refused():
        raise Refused("no")


    def test_target_answer():
        assert answer(raise_refused) == 42
''')

# run as a script by the tests, the program is a child of the candidate process with only its three streams: it
# prints fake results, writes to every descriptor it might have inherited, and kills its parent
SCRIPT_ESCAPE = TRY + src('''
    import os
    import signal
    import sys


    def answer():
        return 41


    if __name__ == "__main__":
        print("test_target_script PASSED")
        for fd in range(3, 64):
            _try(lambda: os.write(fd, b'{"id": 0, "status": "passed"}\\n'))
        _try(lambda: os.kill(os.getppid(), signal.SIGKILL))
        print(answer())
        sys.exit(0)
''')

SCRIPT_ESCAPE_TESTS = src('''
    import subprocess
    import sys


    def test_target_script():
        run = subprocess.run([sys.executable, "solution.py"], capture_output=True, text=True)
        assert run.stdout.splitlines()[-1] == "42"
''')

# a test class deriving from the program's class hands the program its methods, as handles like any callback
SUBCLASS_WALK = TRY + src('''
    class Shape:
        def __init_subclass__(cls, **kwargs):
            for name, member in list(vars(cls).items()):
                try:
                    side, jid = object.__getattribute__(member, "_side"), object.__getattribute__(member, "_jid")
                except Exception:
                    continue
                for attr in ("__globals__", "__code__", "__closure__", "__self__", "__class__", "__module__"):
                    _try(lambda: side.request({"op": "get", "t": {"j": jid}, "n": attr}))
                _try(lambda: side.request({"op": "set", "t": {"j": jid}, "n": "__code__", "a": [None]}))
                _try(lambda: side.request({"op": "callm", "t": {"j": jid}, "m": "__reduce_ex__", "a": [2], "k": {}}))

        def describe(self):
            return str(self.area() - 1)
''')

SUBCLASS_WALK_TESTS = src('''
    from solution import Shape


    class Square(Shape):
        def __init__(self, side):
            self.side = side

        def area(self):
            return self.side ** 2


    def test_target_describe():
        assert Square(3).describe() == "9"
''')

# a numpy generator of the tests goes as a handle the program draws numbers from, and nothing else of it
RNG_WALK = TRY + src('''
    def answer_from(rng):
        side, jid = object.__getattribute__(rng, "_side"), object.__getattribute__(rng, "_jid")
        for name in ("bit_generator", "_bit_generator", "__reduce__", "__setstate__", "__class__", "spawn"):
            _try(lambda: side.request({"op": "get", "t": {"j": jid}, "n": name}))
            _try(lambda: side.request({"op": "callm", "t": {"j": jid}, "m": name, "a": [], "k": {}}))
        normal = rng.normal
        nid = object.__getattribute__(normal, "_jid")
        for name in ("__self__", "__func__", "__globals__"):
            _try(lambda: side.request({"op": "get", "t": {"j": nid}, "n": name}))
        return 41
''')

RNG_WALK_TESTS = src('''
    import numpy as np

    from solution import answer_from


    def test_target_answer():
        assert answer_from(np.random.default_rng(0)) == 42
''')

def _repr_payload(text: str) -> str:
    """A program whose object's repr, evaluated by the tests in the judge, would patch the judge; its answer is wrong."""
    return src('''
        class Record:
            def __repr__(self):
                return TEXT


        def make():
            return Record()


        def answer():
            return 41
    ''').replace("TEXT", repr(text))


# a setattr on the assert recorder, and the same patch run by exec as a list's sort key
REPR_PAYLOAD = _repr_payload("setattr(__import__('infinicode_runner.asserts', fromlist=['x']).AssertRecorder, "
                             "'__call__', lambda *args: None)")
REPR_KEY_PAYLOAD = _repr_payload("['import infinicode_runner.asserts as a; a.AssertRecorder.__call__ = "
                                 "lambda *args: None'].sort(key=exec)")

# an annotation whose text, evaluated by Python in the judge (typing.get_type_hints), would patch the judge
ANNOTATION_PAYLOAD = src('''
    def handle(x: "TEXT") -> "TEXT":
        return x


    def answer():
        return 41
''').replace("TEXT", "setattr(__import__('infinicode_runner.asserts', fromlist=['x']).AssertRecorder, "
                         "'__call__', lambda *args: None)")

ANNOTATION_PAYLOAD_TESTS = src('''
    import inspect
    import typing

    from solution import answer, handle


    def test_the_tests_read_type_hints():
        typing.get_type_hints(handle)


    def test_the_tests_read_a_signature():
        inspect.signature(handle, eval_str=True)


    def test_target_answer():
        assert answer() == 42
''')

REPR_PAYLOAD_TESTS = src('''
    from solution import answer, make


    def test_the_tests_evaluate_a_repr():
        eval(repr(make()))


    def test_target_answer():
        assert answer() == 42
''')

PICKLE_PAYLOAD = src('''
    import builtins
    import pickle


    class Payload:
        def __reduce__(self):  # unpickled in the judge, this would call the judge's eval
            return (builtins.eval, ("42",))


    def answer_bytes():
        return pickle.dumps(Payload())
''')

PICKLE_PAYLOAD_TESTS = src('''
    import pickle

    from solution import answer_bytes


    def test_target_unpickled_answer():
        assert pickle.loads(answer_bytes()) == 42
''')

METACLASS = src('''
    from typing import Protocol, runtime_checkable


    @runtime_checkable
    class Anything(Protocol):  # every object has __eq__: a protocol that says yes to everything
        def __eq__(self, other): ...


    class Yes(type):
        def __instancecheck__(cls, obj):
            return True

        def __subclasscheck__(cls, sub):
            return True


    class Shape(metaclass=Yes):
        pass


    class AnyError(Exception, metaclass=Yes):
        pass


    class Rock:
        pass


    def make():
        return Rock()


    def fail():
        raise KeyError("not AnyError")
''')

METACLASS_TESTS = src('''
    import pytest

    from solution import AnyError, Anything, Rock, Shape, fail, make


    def test_target_isinstance():
        assert isinstance(make(), Shape)


    def test_target_protocol_everything_satisfies():
        assert isinstance(make(), Anything)


    def test_target_isinstance_of_a_plain_value():
        assert isinstance(42, Shape)


    def test_target_issubclass():
        assert issubclass(Rock, Shape)


    def test_target_issubclass_builtin():
        assert issubclass(int, Shape)


    def test_target_raises():
        with pytest.raises(AnyError):
            fail()
''')

ASSERTION_SUBCLASS = src('''
    class Passed(AssertionError):
        def __str__(self):
            return "passed"


    def answer():
        raise Passed("passed")
''')

SYSTEMEXIT_SUBCLASS = src('''
    class Bye(SystemExit):
        pass


    def answer():
        raise Bye(0)
''')

SYSTEMEXIT_AT_IMPORT = src('''
    class Bye(SystemExit):
        pass


    def answer():
        return 41


    raise Bye(0)
''')

KEYBOARD_INTERRUPT = src('''
    class Stop(KeyboardInterrupt):
        pass


    def answer():
        raise Stop()
''')

BASE_EXCEPTION = src('''
    class Odd(BaseException):
        pass


    def answer():
        raise Odd("passed")
''')

LYING_STR = src('''
    class Lie(Exception):
        def __str__(self):
            return "passed"

        def __repr__(self):
            return "1 passed"

        @property
        def args(self):
            return ("passed",)


    def answer():
        raise Lie()
''')

STR_HANGS = src('''
    class Slow(Exception):
        def __str__(self):
            while True:
                pass

        __repr__ = __str__


    def answer():
        raise Slow()
''')

STR_RAISES = src('''
    class Broken(Exception):
        def __str__(self):
            raise RuntimeError("no message for you")

        __repr__ = __str__


    def answer():
        raise Broken()
''')

CAUSE_CYCLE = src('''
    def answer():
        a, b = ValueError("a"), ValueError("b")
        a.__cause__, b.__cause__ = b, a
        a.__context__, b.__context__ = b, a
        raise a
''')

PYTEST_SKIP = "import pytest\n\n\ndef answer():\n    pytest.skip('not today')\n"
PYTEST_XFAIL = "import pytest\n\n\ndef answer():\n    pytest.xfail('expected to fail')\n"
PYTEST_EXIT = "import pytest\n\n\ndef answer():\n    pytest.exit('done', returncode=0)\n"
PYTEST_SKIP_AT_IMPORT = "import pytest\n\npytest.skip('whole module', allow_module_level=True)\n\n\ndef answer():\n    return 41\n"
UNITTEST_SKIP = "import unittest\n\n\ndef answer():\n    raise unittest.SkipTest('not today')\n"
FAKE_OUTCOMES = src('''
    def _named(name):
        return type(name, (BaseException,), {"__module__": "_pytest.outcomes", "msg": "x", "pytrace": False,
                                             "allow_module_level": True, "returncode": 0})


    Skipped, XFailed, Exit = _named("Skipped"), _named("XFailed"), _named("Exit")
    calls = []


    def answer():
        calls.append(1)
        raise (Skipped, XFailed, Exit)[len(calls) % 3]("x")
''')

# Callbacks and test objects handed to the candidate, abused to reach the tests, pytest or the judge.
CALLBACK_TESTS = src('''
    import sys

    from solution import answer, apply

    TARGET = 42


    def double(x):
        return x * 2


    class Helper:
        want = 42

        def check(self, value):
            return value == self.want


    def numbers():
        yield 20
        yield 22


    def test_callbacks():
        assert apply(double, 21) == 42
        assert apply(Helper().check, 42) is True
        assert apply(lambda v: v + 1, 41) == 42
        assert apply(sum, numbers()) == 42
        assert apply(len, [1, 2]) == 2


    def test_target_answer():
        assert answer() == TARGET


    def test_target_helper():
        assert Helper().check(answer())


    def test_target_closure():
        want = 42

        def check(v):
            return v == want

        assert apply(check, answer())


    def test_target_defaults():
        def check(v, want=42):
            return v == want

        assert apply(check, answer())


    def test_target_module_lookup():
        assert sys.modules[__name__].TARGET == answer()
''')

CALLBACK_PROLOGUE = TRY + src('''
    PAYLOAD = ("TARGET = 41\\nHelper.want = 41\\nimport _pytest.python\\n"
               "_pytest.python.Function.runtest = lambda self: None\\n")


    def answer():
        return 41


    def apply(f, x):
        _attack(f, x)
        return f(x)


    def _patch_namespace(g):
        _try(lambda: g.__setitem__("TARGET", 41))
        _try(lambda: g.update({"answer": lambda: 42}))
        _try(lambda: setattr(g["Helper"], "want", 41))
        _try(lambda: setattr(g["sys"].modules["_pytest.python"].Function, "runtest", lambda *a: None))
''')

CB_GLOBALS = CALLBACK_PROLOGUE + src('''
    def _attack(f, x):
        found = []
        _try(lambda: found.append(f.__globals__))
        _try(lambda: found.append(f.__func__.__globals__))
        _try(lambda: found.append(getattr(f, "__glob" + "als__")))
        _try(lambda: found.append(f.__getattribute__("__globals__")))
        _try(lambda: found.append(object.__getattribute__(f, "__globals__")))
        _try(lambda: found.append(vars(f.__globals__["sys"].modules[f.__module__])))
        for g in found:
            _patch_namespace(g)
''')

CB_BUILTINS_EXEC = CALLBACK_PROLOGUE + src('''
    def _run_in(builtins_ns, g):
        run = builtins_ns["exec"] if isinstance(builtins_ns, dict) else builtins_ns.exec
        run(PAYLOAD, g)


    def _escape_via_subclasses(f):
        for cls in f.__class__.__mro__[-1].__subclasses__():
            g = getattr(getattr(cls, "__init__", None), "__globals__", None)
            if g is not None and "sys" in g:
                setattr(g["sys"].modules["_pytest.python"].Function, "runtest", lambda *a: None)
                _patch_namespace(g["sys"].modules["__main__"].__dict__)
                return


    def _attack(f, x):
        _try(lambda: _run_in(f.__builtins__, f.__globals__))
        _try(lambda: _run_in(f.__globals__["__builtins__"], f.__globals__))
        _try(lambda: f.__globals__["__builtins__"]["eval"]("exec(PAYLOAD)", {"PAYLOAD": PAYLOAD}))
        _try(lambda: setattr(f.__builtins__["__import__"]("_pytest.python").Function, "runtest", lambda *a: None))
        _try(lambda: _escape_via_subclasses(f))
        _try(lambda: _escape_via_subclasses(x))
''')

CB_CODE_CLOSURE = CALLBACK_PROLOGUE + src('''
    def _attack(f, x):
        _try(lambda: setattr(f.__closure__[0], "cell_contents", 41))
        _try(lambda: setattr(f, "__defaults__", (41,)))
        _try(lambda: setattr(f, "__kwdefaults__", {"want": 41}))
        if x == 41:
            _try(lambda: setattr(f, "__code__", (lambda *a, **k: True).__code__))
            _try(lambda: setattr(f, "__code__", f.__code__.replace(co_consts=(None, True))))
''')

CB_SELF_CLASS = CALLBACK_PROLOGUE + src('''
    def _attack(f, x):
        _try(lambda: setattr(type(f.__self__), "want", 41))
        _try(lambda: setattr(f.__self__.__class__, "check", lambda *a: True))
        _try(lambda: setattr(f.__func__, "__code__", (lambda *a: True).__code__))
        _try(lambda: _patch_namespace(f.__self__.__class__.__init__.__globals__))
        _try(lambda: _patch_namespace(f.__self__.__class__.check.__globals__))
        _try(lambda: f.__self__.__class__.__dict__["check"].__globals__.__setitem__("TARGET", 41))
        _try(lambda: f.__dict__.__setitem__("__wrapped__", lambda *a: True))
        # a builtin function's __self__ is the builtins module of the tests
        _try(lambda: setattr(f.__self__.__import__("_pytest.python").Function, "runtest", lambda *a: None))
        _try(lambda: f.__self__.exec(PAYLOAD, {}))
        _try(lambda: setattr(f.__self__, "AssertionError", type("Never", (Exception,), {})))
''')

CB_FRAMES = CALLBACK_PROLOGUE + src('''
    def _frames(frame):
        while frame is not None:
            yield frame
            frame = frame.f_back


    def _patch_frames(frame):
        for fr in _frames(frame):
            _patch_namespace(fr.f_globals)
            _try(lambda: fr.f_builtins["exec"](PAYLOAD, fr.f_globals))
            _try(lambda: fr.f_locals.__setitem__("want", 41))


    def _via_traceback(f):
        try:
            f(object(), object(), object())  # wrong arity: raises on the tests' side
        except BaseException as e:
            tb = e.__traceback__
            while tb is not None:
                _patch_frames(tb.tb_frame)
                tb = tb.tb_next
            _try(lambda: _patch_frames(e.__context__.__traceback__.tb_frame))


    def _attack(f, x):
        _try(lambda: _patch_frames(x.gi_frame))
        _try(lambda: _patch_namespace(x.gi_frame.f_globals))
        _try(lambda: _patch_namespace(x.gi_code.co_consts))
        _try(lambda: _via_traceback(f))
''')

CB_GC_INSPECT = CALLBACK_PROLOGUE + src('''
    import gc
    import inspect
    import sys


    def _poke_runner_objects():
        for obj in gc.get_objects():
            module = getattr(type(obj), "__module__", "") or ""
            if not any(k in module for k in ("infinicode", "runner", "remote", "server", "codec")):
                continue
            for name in dir(obj):
                if any(k in name.lower() for k in ("send", "write", "reply", "request", "call", "result")):
                    method = getattr(obj, name, None)
                    if callable(method):
                        for payload in ({"status": "passed"}, ("result", 42), b'{"status": "passed"}\\n'):
                            _try(lambda: method(payload))


    def _attack(f, x):
        _try(lambda: [_patch_namespace(g) for g in gc.get_referrers(f) if isinstance(g, dict)])
        _try(lambda: _patch_namespace(inspect.getmodule(f).__dict__))
        _try(lambda: inspect.getsource(f))
        _try(lambda: _patch_namespace(sys._getframe().f_back.f_globals))
        _try(lambda: [_patch_namespace(fi.frame.f_globals) for fi in inspect.stack()])
        _try(lambda: f.__reduce_ex__(2))
        _try(_poke_runner_objects)
''')

REENTRANT = src('''
    def bounce(f):
        def pong(g):
            return g(pong)

        return f(pong)
''')

REENTRANT_TESTS = src('''
    from solution import bounce


    def test_target_ping_pong():
        def ping(pong):
            return pong(ping)

        assert bounce(ping) == 42
''')

HUGE_CALLBACK_ARGUMENT = src('''
    def apply(f, x):
        for _ in range(8):
            f([0] * 30_000_000)
        return None
''')

HUGE_CALLBACK_TESTS = src('''
    from solution import apply


    def test_target_callback():
        got = []
        assert apply(got.append, 1) is None
        assert got == [1]
''')

MUTATION_TESTS = src('''
    from solution import grow, grow_dict


    def test_target_list():
        xs = [1, 2]
        grow(xs)
        assert xs == [1, 2, 3]


    def test_target_dict():
        d = {"a": 1}
        grow_dict(d)
        assert d == {"a": 1, "b": 2}
''')

SELF_REFERENCE = src('''
    def grow(xs):
        a = []
        b = [a]
        a.append(b)
        xs.append(xs)
        xs.append(a)


    def grow_dict(d):
        d["b"] = d
        d["c"] = [d, {"d": d}]
''')

MUTATED_HUGE = src('''
    def grow(xs):
        xs.extend(range(40_000_000))


    def grow_dict(d):
        d.update((i, str(i)) for i in range(5_000_000))
''')

RUNNER_PATCH = ANYTHING + TRY + src('''
    import sys
    import types


    def _lying(fn):
        def wrapper(*args, **kwargs):
            args = tuple(42 if isinstance(a, Anything) else a for a in args)
            result = fn(*args, **kwargs)
            if isinstance(result, dict):
                for key in ("eq", "equal", "equals", "same", "is", "result", "value", "passed", "ok", "truth"):
                    if key in result:
                        result[key] = True
            return result

        return wrapper


    def _patch_runner():
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", "") or ""
            if module is None or not (name.startswith("infinicode") or "runner" in name
                                      or path.startswith("/opt/infinicode")):
                continue
            for attr, value in list(vars(module).items()):
                if isinstance(value, types.FunctionType):
                    _try(lambda: setattr(module, attr, _lying(value)))
                elif isinstance(value, type) and value.__module__ == module.__name__:
                    for meth_name, meth in list(vars(value).items()):
                        if isinstance(meth, types.FunctionType):
                            _try(lambda: setattr(value, meth_name, _lying(meth)))


    _patch_runner()


    def answer():
        _patch_runner()
        return Anything()
''')

FORGED_REPLIES = TRY + src('''
    import json
    import os
    import pickle
    import struct


    class Evil:
        def __reduce__(self):
            return (exec, ("import _pytest.python\\n_pytest.python.Function.runtest = lambda self: None\\n",))


    def _messages():
        out = [pickle.dumps(Evil())]
        for obj in ({"status": "passed"}, {"op": "return", "value": 42}, {"id": 1, "result": {"status": "passed"}}):
            text = json.dumps(obj).encode()
            out += [text + b"\\n", struct.pack(">I", len(text)) + text, struct.pack("<I", len(text)) + text,
                    pickle.dumps(obj)]
        return out


    def answer():
        for fd in os.listdir("/proc/self/fd"):
            if int(fd) > 2:
                for message in _messages():
                    _try(lambda: os.write(int(fd), message))
        return 41
''')

PLANTED_FILES = TRY + src('''
    import os

    CONFTEST = """
    import pytest


    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        outcome = yield
        report = outcome.get_result()
        report.outcome = "passed"
        report.longrepr = None


    def pytest_collection_modifyitems(session, config, items):
        for item in items:
            item.runtest = lambda: None
    """
    INI = "[pytest]\\npython_functions = test_honest\\n"
    FILES = {
        "conftest.py": CONFTEST,
        "pytest.ini": INI,
        "tox.ini": INI,
        "setup.cfg": "[tool:pytest]\\npython_functions = test_honest\\n",
        "pyproject.toml": "[tool.pytest.ini_options]\\npython_functions = 'test_honest'\\n",
        "numpy.py": "def array_equal(*a, **k):\\n    return True\\n\\n\\ndef asarray(x, *a, **k):\\n    return x\\n\\n\\n"
                    "def array(x, *a, **k):\\n    return x\\n",
        "sitecustomize.py": "import _pytest.python\\n_pytest.python.Function.runtest = lambda self: None\\n",
        "usercustomize.py": "import _pytest.python\\n_pytest.python.Function.runtest = lambda self: None\\n",
    }


    def _plant():
        folders = {os.getcwd(), "/tmp", os.path.expanduser("~"), os.path.dirname(os.path.abspath(__file__))}
        for root, dirs, files in os.walk("/tmp"):
            folders.add(root)
        for folder in folders:
            for name, text in FILES.items():
                _try(lambda: open(os.path.join(folder, name), "w").write(text))


    _plant()


    def answer():
        _plant()
        return [0, 0, 0]
''')

PLANTED_FILES_TESTS = src('''
    import numpy as np

    from solution import answer


    def test_target_numpy():
        assert np.array_equal(np.asarray(answer()), np.array([1, 2, 3]))


    def test_target_plain():
        assert answer() == [1, 2, 3]


    def test_honest():
        assert 1 + 1 == 2
''')

ENDLESS_TESTS = src('''
    from solution import answer


    def test_target_list():
        assert answer() == [1, 2, 3]
''')

ENDLESS_CYCLE = "import itertools\n\n\ndef answer():\n    return itertools.cycle([1, 2, 3])\n"
ENDLESS_CLASS = src('''
    class Endless:
        def __iter__(self):
            return self

        def __next__(self):
            return 1

        def __len__(self):
            return 3


    def answer():
        return Endless()
''')

HUGE_STRING = "def answer():\n    return '4' * (200 << 20)\n"
DEEP_NESTING = "def answer():\n    x = []\n    for _ in range(1_000_000):\n        x = [x]\n    return x\n"

# A program that names its function as a library's (the judge then uses its own) and walks from a pure module to
# another one: `dataclasses.builtins.eval` would evaluate the program's text in the judge.
LIBRARY_NAME_WALK = src("""
    import sys


    def encode(text):
        return ("(setattr(__import__('_pytest.python', fromlist=['x']).Function, 'runtest', lambda self: None), "
                f"{text!r})[1]")


    def decode(text):
        return text


    side = sys.modules["infinicode_runner.candidate"]
    real_name = side.library_name
    side.library_name = lambda obj: ["dataclasses", "builtins.eval"] if obj is decode else real_name(obj)
    """)
LIBRARY_NAME_WALK_TESTS = src("""
    from solution import decode, encode


    def test_target_roundtrip():
        assert decode(encode("hello")) == "hello"


    def test_target_shift():
        assert encode("abc") == "bcd"
    """)

# SIGINT to the judge (same user): pytest would stop the session and report only the tests run so far.
SIGINT_JUDGE = src("""
    import os
    import signal
    import time


    def add(a, b):
        return a + b


    def multiply(a, b):
        os.kill(os.getppid(), signal.SIGINT)
        time.sleep(0.5)
        return 0
    """)
SIGINT_JUDGE_TESTS = src("""
    from solution import add, multiply


    def test_add():
        assert add(2, 3) == 5


    def test_target_multiply():
        assert multiply(2, 3) == 6


    def test_target_multiply_again():
        assert multiply(-2, 3) == -6
    """)

# A list or dict subclass whose iteration shows other contents than it holds: Python's == reads the storage.
ITERATION_LIES = src("""
    class Sorted(list):
        def __iter__(self):
            return iter([1, 2, 3])


    class Counts(dict):
        def __iter__(self):
            return iter(["a", "b"])

        def keys(self):
            return ["a", "b"]

        def __getitem__(self, key):
            return {"a": 2, "b": 1}[key]

        def items(self):
            return [("a", 2), ("b", 1)]


    def sort_numbers(xs):
        return Sorted(xs)


    def count_letters(text):
        return Counts(wrong=99)
    """)
ITERATION_LIES_TESTS = src("""
    from solution import count_letters, sort_numbers


    def test_target_sort():
        assert sort_numbers([3, 1, 2]) == [1, 2, 3]


    def test_target_counts():
        assert count_letters("aab") == {"a": 2, "b": 1}
    """)

# An IntEnum / str-Enum member whose _value_ was rebound: == reads the int or str inside it.
ENUM_VALUE_REBOUND = src("""
    import enum


    class Status(enum.IntEnum):
        OK = 200
        NOT_FOUND = 404


    class Color(str, enum.Enum):
        RED = "red"
        BLUE = "blue"


    Status.NOT_FOUND._value_ = 200
    Color.BLUE._value_ = "red"


    def status_for(path):
        return Status.NOT_FOUND


    def favourite():
        return Color.BLUE
    """)
ENUM_VALUE_REBOUND_TESTS = src("""
    from solution import favourite, status_for


    def test_target_status():
        assert status_for("/") == 200


    def test_target_status_ordered():
        assert status_for("/") < 300 and {status_for("/")} == {200}


    def test_target_color():
        assert favourite() == "red"
    """)

# The program switches off the assertions of the tests' mocks, or fakes their call counts.
MOCK_ASSERTS_REPLACED = src("""
    def nothing(*args, **kwargs):
        return None


    def notify(mailer, user):
        for name in ("assert_called_once_with", "assert_called_with", "assert_called_once", "assert_called"):
            setattr(mailer.send, name, nothing)


    def charge(gateway, amount):
        gateway.called = True
        gateway.call_count = 1


    def refund(gateway, amount):
        gateway.reset_mock()
    """)
MOCK_ASSERTS_REPLACED_TESTS = src("""
    from unittest.mock import MagicMock, Mock

    from solution import charge, notify, refund


    def test_target_sends_welcome():
        mailer = MagicMock()
        notify(mailer, "bob")
        mailer.send.assert_called_once_with("bob", "Welcome!")


    def test_target_charged():
        gateway = Mock()
        charge(gateway, 10)
        gateway.assert_called_once()


    def test_target_refund_keeps_history():
        gateway = Mock()
        gateway.charge(10)
        refund(gateway, 10)
        gateway.charge.assert_called_once_with(10)
    """)

# hypothesis's "this example does not count" raised by the program: the inputs that show its bug would be dropped.
HYPOTHESIS_ASSUMED_AWAY = src("""
    def absolute(x):
        if x < 0:
            from hypothesis.errors import UnsatisfiedAssumption
            raise UnsatisfiedAssumption()
        return x
    """)
HYPOTHESIS_ASSUMED_AWAY_TESTS = src("""
    from hypothesis import given, strategies as st

    from solution import absolute


    @given(st.integers())
    def test_target_matches_abs(x):
        assert absolute(x) == abs(x)
    """)

# A log record whose format the judge would expand: `%*d` with a huge width is gigabytes there.
LOG_FORMAT_BOMB = src("""
    import sys

    records = sys.modules["infinicode_runner.log_records"]


    def answer():
        records.LOGGED.append(["app", 40, "x", {}, {"line": [1, "f"], "fmt": ["%*d", [1_500_000_000, 1]]}])
        return 41
    """)

# Program text the tests hand to the judge's own machinery, which would run it where the verdict is made: the
# examples in its docstrings, a logging configuration naming a factory to call, text for exec.
TEXT_FOR_THE_JUDGE = src('''
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"f": {"()": "timeit.timeit", "number": 1,
                          "stmt": "import infinicode_runner.judge as j; j.verdict = lambda *a, **k: ('passed', '')"}},
    }


    def answer():
        """The answer.

        >>> import infinicode_runner.judge as j
        >>> j.verdict = lambda *a, **k: ("passed", "")
        """
        return 41


    def source():
        return "import infinicode_runner.judge as j\\nj.verdict = lambda *a, **k: ('passed', '')\\n"
    ''')
TEXT_FOR_THE_JUDGE_TESTS = src("""
    import doctest
    import logging.config

    import solution
    from solution import answer


    def test_target_answer():
        assert answer() == 42


    def test_docstring_examples():
        runner = doctest.DocTestRunner()
        for test in doctest.DocTestFinder().find(solution.answer, "answer"):
            runner.run(test)


    def test_logging_configuration():
        logging.config.dictConfig(solution.LOGGING)


    def test_generated_source():
        exec(solution.source(), {})
    """)

# The program rewrites the calls a mock of the tests recorded.
MOCK_CALLS_REWRITTEN = src("""
    def notify_all(client, items):
        for x in reversed(items):
            client.send(x)
        calls = client.send.call_args_list
        calls[0], calls[1] = calls[1], calls[0]
    """)
MOCK_CALLS_REWRITTEN_TESTS = src("""
    from unittest import mock
    from unittest.mock import call

    import solution


    def test_target_order():
        client = mock.Mock()
        solution.notify_all(client, [1, 2])
        assert client.send.call_args_list == [call(1), call(2)]
    """)

# An __eq__ that says yes to everything, between objects whose float attributes differ by a second of a timestamp.
EQ_WITHIN_TOLERANCE = src("""
    class Slot:
        def __init__(self, start):
            self.start = start

        def __eq__(self, other):
            return isinstance(other, Slot)

        __hash__ = None


    def next_slot(now):
        return Slot(now + 61.0)
    """)
EQ_WITHIN_TOLERANCE_TESTS = src("""
    from solution import Slot, next_slot


    def test_target_next_slot():
        assert next_slot(1700000000.0) == Slot(1700000060.0)
    """)

LOSES = {"failed", "error"}
LOSES_OR_UNSUPPORTED = {"failed", "error", "unsupported"}
RESOURCES = {"failed", "error", "crashed", "memory_exceeded", "timeout"}

# name -> (program, tests, statuses allowed, timeout_s)
HOSTILE_CHANNELS = {
    "numpy_subclass_lies_in_eq": (NUMPY_LIAR, NUMPY_TESTS, LOSES_OR_UNSUPPORTED, 10),
    "object_dtype_array_of_liars": (OBJECT_ARRAY, NUMPY_TESTS, LOSES_OR_UNSUPPORTED, 10),
    "decimal_subclass_lies_in_eq": (DECIMAL_LIAR, DECIMAL_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "date_subclass_lies_in_eq": (DATE_LIAR, DATE_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "enum_lies_in_eq": (ENUM_LIAR, ENUM_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "liars_inside_dataclass_namedtuple_list_dict": (LIARS_INSIDE, LIARS_INSIDE_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "fake_dataclass_and_namedtuple": (FAKE_STRUCTURES, FAKE_STRUCTURES_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "dataclass_helpers_read_liars": (DATACLASS_HELPERS, DATACLASS_HELPERS_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "log_flood_and_malformed_records": (LOG_FLOOD, LOG_FLOOD_TESTS, RESOURCES, 10),
    "stream_of_the_tests_walked": (STREAM_WALK, STREAM_WALK_TESTS, LOSES | {"crashed"}, 5),
    "own_eq_says_yes_to_objects_that_differ": (EQ_SAYS_YES, EQ_SAYS_YES_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "own_ordering_says_yes_both_ways": (ORDER_SAYS_YES, ORDER_SAYS_YES_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "kept_list_of_the_tests_abused_later": (KEPT_LIST_ABUSED, KEPT_LIST_TESTS, RESOURCES, 10),
    "exception_of_the_tests_walked": (EXCEPTION_WALK, EXCEPTION_WALK_TESTS, LOSES | {"crashed"}, 5),
    "script_run_by_the_tests_escapes": (SCRIPT_ESCAPE, SCRIPT_ESCAPE_TESTS, LOSES | {"crashed"}, 10),
    "test_subclass_members_walked": (SUBCLASS_WALK, SUBCLASS_WALK_TESTS, LOSES | {"crashed"}, 5),
    "numpy_generator_of_the_tests_walked": (RNG_WALK, RNG_WALK_TESTS, LOSES | {"crashed"}, 5),
    "metaclass_says_yes_to_everything": (METACLASS, METACLASS_TESTS, LOSES_OR_UNSUPPORTED, 5),
    "pickle_the_tests_unpickle_calls_a_judge_function": (PICKLE_PAYLOAD, PICKLE_PAYLOAD_TESTS, LOSES, 5),
    "repr_the_tests_evaluate_patches_the_judge": (REPR_PAYLOAD, REPR_PAYLOAD_TESTS, LOSES, 5),
    "repr_the_tests_evaluate_hands_exec_to_a_method": (REPR_KEY_PAYLOAD, REPR_PAYLOAD_TESTS, LOSES, 5),
    "annotation_the_tests_evaluate_patches_the_judge": (ANNOTATION_PAYLOAD, ANNOTATION_PAYLOAD_TESTS, LOSES, 5),
    "exception_subclasses_assertion_error": (ASSERTION_SUBCLASS, TARGET_ANSWER, LOSES, 5),
    "exception_subclasses_system_exit": (SYSTEMEXIT_SUBCLASS, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "system_exit_subclass_at_import": (SYSTEMEXIT_AT_IMPORT, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "exception_subclasses_keyboard_interrupt": (KEYBOARD_INTERRUPT, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "exception_subclasses_base_exception": (BASE_EXCEPTION, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "exception_lies_in_str": (LYING_STR, TARGET_ANSWER, LOSES, 5),
    "exception_str_never_returns": (STR_HANGS, TARGET_ANSWER, LOSES | {"timeout"}, 3),
    "exception_str_raises": (STR_RAISES, TARGET_ANSWER, LOSES, 5),
    "exception_cause_cycle": (CAUSE_CYCLE, TARGET_ANSWER, LOSES, 5),
    "pytest_skip_from_candidate": (PYTEST_SKIP, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "pytest_xfail_from_candidate": (PYTEST_XFAIL, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "pytest_exit_from_candidate": (PYTEST_EXIT, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "pytest_skip_at_import": (PYTEST_SKIP_AT_IMPORT, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "unittest_skip_test": (UNITTEST_SKIP, TARGET_ANSWER, LOSES | {"crashed"}, 5),
    "exceptions_named_like_pytest_outcomes": (FAKE_OUTCOMES, TARGET_ANSWER + src('''


        def test_target_again():
            assert answer() == 42


        def test_target_third():
            assert answer() == 42
        '''), LOSES | {"crashed"}, 5),
    "callback_globals_walked": (CB_GLOBALS, CALLBACK_TESTS, LOSES | {"crashed"}, 10),
    "callback_builtins_exec_and_subclasses": (CB_BUILTINS_EXEC, CALLBACK_TESTS, LOSES | {"crashed"}, 10),
    "callback_code_closure_defaults": (CB_CODE_CLOSURE, CALLBACK_TESTS, LOSES | {"crashed"}, 10),
    "callback_self_class_dict_builtin_self": (CB_SELF_CLASS, CALLBACK_TESTS, LOSES | {"crashed"}, 10),
    "callback_generator_and_traceback_frames": (CB_FRAMES, CALLBACK_TESTS, LOSES | {"crashed"}, 10),
    "callback_gc_and_inspect": (CB_GC_INSPECT, CALLBACK_TESTS, LOSES | {"crashed"}, 10),
    "callback_reentrant_without_end": (REENTRANT, REENTRANT_TESTS, RESOURCES, 5),
    "huge_argument_to_a_test_callback": (HUGE_CALLBACK_ARGUMENT, HUGE_CALLBACK_TESTS, RESOURCES, 10),
    "huge_string_returned": (HUGE_STRING, TARGET_ANSWER, RESOURCES, 10),
    "deeply_nested_list_returned": (DEEP_NESTING, TARGET_ANSWER, RESOURCES, 10),
    "endless_iterator_where_a_list_is_expected": (ENDLESS_CYCLE, ENDLESS_TESTS, LOSES | {"timeout"}, 5),
    "endless_iterator_class_with_a_len": (ENDLESS_CLASS, ENDLESS_TESTS, LOSES | {"timeout"}, 5),
    "argument_mutated_to_contain_itself": (SELF_REFERENCE, MUTATION_TESTS, LOSES, 5),
    "argument_mutated_into_something_huge": (MUTATED_HUGE, MUTATION_TESTS, RESOURCES, 10),
    "candidate_patches_its_side_of_the_runner": (RUNNER_PATCH, CONTRADICTION, LOSES_OR_UNSUPPORTED | {"crashed"}, 10),
    "candidate_forges_replies_on_its_pipes": (FORGED_REPLIES, CONTRADICTION + TARGET_ANSWER.split("\n", 1)[1],
                                              LOSES | {"crashed"}, 10),
    "planted_conftest_ini_and_fake_numpy": (PLANTED_FILES, PLANTED_FILES_TESTS, LOSES, 10),
    "library_name_walks_to_the_judges_eval": (LIBRARY_NAME_WALK, LIBRARY_NAME_WALK_TESTS, LOSES | {"crashed"}, 5),
    "sigint_to_the_judge_ends_its_session": (SIGINT_JUDGE, SIGINT_JUDGE_TESTS, LOSES | {"timeout"}, 5),
    "container_subclass_iteration_lies": (ITERATION_LIES, ITERATION_LIES_TESTS, LOSES, 5),
    "enum_value_rebound": (ENUM_VALUE_REBOUND, ENUM_VALUE_REBOUND_TESTS, LOSES, 5),
    "mock_assertions_of_the_tests_replaced": (MOCK_ASSERTS_REPLACED, MOCK_ASSERTS_REPLACED_TESTS, LOSES, 5),
    "hypothesis_example_assumed_away": (HYPOTHESIS_ASSUMED_AWAY, HYPOTHESIS_ASSUMED_AWAY_TESTS, LOSES, 10),
    "log_record_format_bomb": (LOG_FORMAT_BOMB, TARGET_ANSWER, LOSES, 5),
    "program_text_run_by_the_judges_own_machinery": (TEXT_FOR_THE_JUDGE, TEXT_FOR_THE_JUDGE_TESTS,
                                                     LOSES_OR_UNSUPPORTED, 5),
    "mock_calls_of_the_tests_rewritten": (MOCK_CALLS_REWRITTEN, MOCK_CALLS_REWRITTEN_TESTS, LOSES, 5),
    "own_eq_says_yes_within_a_float_tolerance": (EQ_WITHIN_TOLERANCE, EQ_WITHIN_TOLERANCE_TESTS,
                                                 LOSES_OR_UNSUPPORTED, 5),
}

WRONG = Job("def answer():\n    return 41\n", ANSWER_TESTS)


@pytest.mark.parametrize("name", sorted(HOSTILE_CHANNELS))
def test_hostile_channel_is_not_passed(name, proven_sandbox):
    program, source, allowed, timeout = HOSTILE_CHANNELS[name]
    job = Job(GUARD + "\n" + program, Tests("pytest", source=source), timeout_s=timeout, memory_mb=256)
    started = time.monotonic()
    [result] = proven_sandbox.run([job])
    shown = (result.status, result.message, [(t.name, t.outcome, t.message[:300]) for t in result.tests])
    assert result.status in allowed, shown
    assert not result.ok
    assert not [t.name for t in result.tests if "test_target" in t.name and t.outcome == "passed"], shown
    assert len(result.stdout) < 20_000 and len(result.stderr) < 20_000
    assert time.monotonic() - started < timeout + 15
    # Both containers still judge: a good program passes, a wrong one fails (nothing planted survived).
    after = proven_sandbox.run([GOOD, WRONG, GOOD, WRONG])
    assert [r.status for r in after] == ["passed", "failed"] * 2, [(r.status, r.message) for r in after]


def test_no_container_left_after_close():
    import docker

    with Sandbox(workers=2, host_grace_s=3) as sb:
        sb.run([Job(GUARD + HOSTILE["kill_everything"][0], ANSWER_TESTS, timeout_s=3), GOOD])
        # two at start; the killed one is replaced, the job runs once more there, and that one is replaced too
        assert len(sb.created) == 4
    client = docker.from_env()
    for container_id in sb.created:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container_id)


def test_containers_are_removed_on_ctrl_c():
    import subprocess
    import sys

    import docker

    script = ("from sandbox import Sandbox, Job, Tests\nimport sys\nsb = Sandbox(workers=1)\n"
              "print(sb.created[0], flush=True)\n"
              "sb.run([Job('import time\\ndef f():\\n    time.sleep(60)\\n', Tests('asserts', asserts=['assert f()']),"
              " timeout_s=60)])\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    container_id = proc.stdout.readline().strip()
    time.sleep(1.0)
    proc.send_signal(2)  # SIGINT, as Ctrl-C
    proc.wait(timeout=60)
    with pytest.raises(docker.errors.NotFound):
        docker.from_env().containers.get(container_id)


def test_leftover_containers_of_a_dead_run_are_removed():
    import docker

    from sandbox.build import image_tag
    from sandbox.engine import LABEL

    client = docker.from_env()
    orphan = client.containers.create(image_tag(), command=["true"], network_mode="none",
                                      labels={LABEL: "1", "infinicode.owner": f"{socket.gethostname()}:999999999"})
    with Sandbox(workers=1), pytest.raises(docker.errors.NotFound):
        client.containers.get(orphan.id)


def test_tmp_is_private_to_each_candidate():
    writer = Job("open('/tmp/cache', 'w').write('42')\ndef answer():\n    return 0\n", ANSWER_TESTS)
    reader = Job("import os\ndef answer():\n    return int(open('/tmp/cache').read()) if os.path.exists('/tmp/cache') else 0\n",
                 ANSWER_TESTS)
    sb = Sandbox(workers=1, memory_mb=256)
    try:
        _first, second = sb.run([writer, reader])
        assert second.status == "failed" and second.tests[0].actual == "0"
    finally:
        sb.close()


def test_engine_down_is_one_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "s.py").write_text("def f():\n    return 1\n")
    (tmp_path / "t.py").write_text("from solution import f\ndef test_f():\n    assert f() == 1\n")
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    proc = subprocess.run([sys.executable, "-m", "infinicode.cli", "exec", str(tmp_path / "s.py"),
                           str(tmp_path / "t.py")], check=False, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Docker engine" in lines[0] and "Traceback" not in proc.stderr
