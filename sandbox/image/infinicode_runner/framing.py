"""Messages between the judge and the candidate: length-prefixed JSON over pipes."""

from __future__ import annotations

import json
import os
import struct

MAX_MESSAGE = 64 * 1024 * 1024  # largest message accepted from the other side

# Bound once: tests that patch json.dumps or json.loads for the program (state.py carries the patch to it) must not
# change the protocol on either side.
JSON_DUMPS, JSON_LOADS = json.dumps, json.loads


def dumps(obj) -> bytes:
    data = JSON_DUMPS(obj, allow_nan=False, separators=(",", ":")).encode()
    return struct.pack(">I", len(data)) + data


def send_msg(fd, obj):
    payload = dumps(obj)
    while payload:
        payload = payload[os.write(fd, payload):]


def _read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_msg(fd):
    (n,) = struct.unpack(">I", _read_exact(fd, 4))
    if n > MAX_MESSAGE:
        raise ValueError("message too large")
    return JSON_LOADS(_read_exact(fd, n))
