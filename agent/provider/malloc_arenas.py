"""Keeping a threaded run's memory bounded: glibc's malloc arenas, capped.

Task threads take turns decoding the shared batch (agent/provider/batching.py), so each thread allocates the
batch's tensors in turn. glibc gives every thread its own malloc arena (up to 8 per core) and keeps what is freed
in an arena for that arena's reuse, so the process keeps growing. `python -m benchmarks.bench_memory_stop` measures
a bench's resident set with and without the cap.

The cap only holds for arenas created after it, so it is set before the threads start: by the CLI at startup and
by `BatchingProvider`.
"""

from __future__ import annotations

import ctypes
import os
import sys

ARENAS = 2
_M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h


def cap_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process; True when the cap is set. Left alone where malloc is not
    glibc's, and where the user set MALLOC_ARENA_MAX (glibc read it at startup)."""
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
