"""The program's sys.stdin while the tests call its functions (candidate.py installs it): what it reads comes from
the tests' side, where their sys.stdin (a StringIO they set, or nothing) answers (remote.py)."""

from __future__ import annotations

import io


class TestsStdin(io.TextIOBase):
    """The program's sys.stdin during tests of functions: what it reads comes from the tests' side (what they set
    sys.stdin to). A text stream: `for line in sys.stdin`, `next(sys.stdin)`, `read(3)`, `with sys.stdin as f`, and
    `sys.stdin.buffer` for bytes."""

    def __init__(self, side):
        super().__init__()
        self.side = side
        self.buffer = _StdinBytes(self)

    def readable(self):
        return True

    def readline(self, size=-1):
        return self.side.request({"op": "stdin", "n": "readline", "a": _size(size)})

    def read(self, size=-1):
        return self.side.request({"op": "stdin", "n": "read", "a": _size(size)})

    def isatty(self):
        return False

    def fileno(self):
        return 0

    def close(self):  # (`with sys.stdin as f:` closes it; the next test's stdin is another stream of the tests)
        pass

    @property
    def encoding(self):
        return "utf-8"


def _size(size):
    return size if type(size) is int and size >= 0 else -1


class _StdinBytes(io.RawIOBase):
    """sys.stdin.buffer: the same input, as bytes (competitive programming's `sys.stdin.buffer.read()`)."""

    def __init__(self, text):
        super().__init__()
        self.text = text

    def readable(self):
        return True

    def read(self, size=-1):
        return self.text.read(size).encode()

    def readline(self, size=-1):
        return self.text.readline(size).encode()

    def readall(self):
        return self.read()
