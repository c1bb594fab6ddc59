"""A real OpenAI-compatible server for the tests: `transformers serve` with the embedded model
(benchmarks/model_server.py), re-exported by the tests that use it.

The session's server runs in its own process group (setsid), on a free localhost port, and is stopped (the whole
group) when the session ends. `ModelServer.stop()` / `.start()` let a test kill it mid-run and bring it back on the
same port.
"""

from __future__ import annotations

import pytest

from benchmarks.model_server import ModelServer, free_port, sampling_copy

__all__ = ["ModelServer", "free_port", "model_server", "sampling_copy"]


@pytest.fixture(scope="session")
def model_server(tmp_path_factory):
    """The embedded SmolLM2-135M-Instruct behind `transformers serve`, for the whole test session."""
    from agent.model_store import ensure_default_model

    root = tmp_path_factory.mktemp("model-server")
    served = sampling_copy(ensure_default_model(), root / "SmolLM2-135M-Instruct")
    server = ModelServer(served, root)
    server.start()
    yield server
    server.stop()
