"""Running a coroutine to its end from synchronous code, even inside a running event loop.

Awaiting crosses the sandbox as a request: the program awaits a coroutine of the tests (an async fake client), or
the tests await one of the program's. The side that gets the request runs the coroutine there and then, while the
thread may already be inside a loop (the program's `asyncio.run`, the tests' async test). asyncio refuses a second
loop in a thread whose loop is running, so the running one is set aside for the time of the inner run.
"""

from __future__ import annotations

import asyncio
import asyncio.events


def run_to_end(coroutine):
    outer = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()
        asyncio.events._set_running_loop(outer)
