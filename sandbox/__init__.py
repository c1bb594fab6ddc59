"""Run untrusted candidate programs against tests in locked-down, warm Docker containers."""

from sandbox.errors import SandboxError
from sandbox.pool import Sandbox, run_tests
from sandbox.results import Job, RunResult, TestOutcome, Tests

__all__ = ["Job", "RunResult", "Sandbox", "SandboxError", "TestOutcome", "Tests", "run_tests"]
