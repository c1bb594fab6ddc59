"""The malloc arena cap that keeps a threaded run's memory bounded, checked in fresh processes: 16 threads that
allocate at once get at most 2 arenas with the cap, and their own arenas without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

COUNT_ARENAS = r"""
import ctypes, os, sys, tempfile, threading
sys.path.insert(0, sys.argv[2])
if sys.argv[1] == "cap":
    from agent.provider.malloc_arenas import cap_malloc_arenas
    assert cap_malloc_arenas()
threads, barrier, held = 16, threading.Barrier(16), []

def work():
    held.append([bytearray(1 << 16) for _ in range(8)])  # malloc'd by this thread, from its arena
    barrier.wait()  # all alive at once, so none reuses an arena another thread left

workers = [threading.Thread(target=work) for _ in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(stream))
libc.fclose(ctypes.c_void_p(stream))
print(open(path).read().count("<heap nr="))
"""


def _arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", COUNT_ARENAS, mode, str(REPO)], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_threads_share_two_arenas_with_the_cap_and_take_their_own_without():
    assert _arenas("cap") <= 2
    assert _arenas("none") > 2


def test_a_cap_the_user_set_is_left_alone(monkeypatch):
    from agent.provider.malloc_arenas import cap_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert cap_malloc_arenas() is False
