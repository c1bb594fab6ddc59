"""Shared fixtures: the real sandbox (Docker engine + image) and the benchmark data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Benchmark data is read from a path, never committed: INFINICODE_DATA or ../shared/datasets."""
    return Path(os.environ.get("INFINICODE_DATA", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def datasets() -> Path:
    path = data_dir()
    if not (path / "HumanEval.jsonl.gz").exists():
        pytest.fail(f"benchmark data not found in {path}: set INFINICODE_DATA")
    return path


@pytest.fixture(scope="session")
def sandbox():
    from sandbox import Sandbox

    with Sandbox() as sb:
        yield sb


from tests.model_fixtures import embedded_model, tiny_model_dir  # noqa: E402,F401  (re-exported fixtures)
