"""Async fixtures, and tests written for pytest-asyncio, in an image without that plugin.

The judge runs async tests and fixtures on one event loop of its own (judge.JobPlugin). A fixture's coroutine or
async generator becomes a plain function or generator that pytest calls as usual, driving it on that loop; tests
that `import pytest_asyncio` for its `fixture` decorator get a module with that decorator.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
import types

import pytest


def async_fixture(func, loop):
    """`func` (an `async def` fixture, with or without `yield`) as the synchronous fixture pytest can call."""
    if inspect.isasyncgenfunction(func):
        @functools.wraps(func)
        def setup_and_teardown(*args, **kwargs):
            steps = func(*args, **kwargs)
            yield loop.run_until_complete(steps.__anext__())
            try:
                loop.run_until_complete(steps.__anext__())
            except StopAsyncIteration:
                return
            raise ValueError(f"fixture {func.__name__} yields more than once")

        return setup_and_teardown

    @functools.wraps(func)
    def setup(*args, **kwargs):
        return loop.run_until_complete(func(*args, **kwargs))

    return setup


def _fixture(fixture_function=None, *, loop_scope=None, **options):
    """pytest_asyncio.fixture: pytest.fixture (the judge runs every async fixture on its one loop)."""
    if fixture_function is not None:
        return pytest.fixture(fixture_function, **options)
    return pytest.fixture(**options)


def provide_pytest_asyncio():
    if "pytest_asyncio" in sys.modules or importlib.util.find_spec("pytest_asyncio") is not None:
        return
    module = types.ModuleType("pytest_asyncio")
    module.fixture = _fixture
    module.is_async_test = lambda item: inspect.iscoroutinefunction(getattr(item, "obj", None))
    sys.modules["pytest_asyncio"] = module
