"""Plain records that go into and come out of the sandbox.

A `Job` is what to run (a candidate program and its tests); a `RunResult` is the verdict.
Both turn into plain dicts (`to_dict`) so they can be written to JSONL as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# Order matters: it is the order in which statuses are "better" for ranking (best first). `unsupported` means
# the tests used a construct the judge cannot decide without trusting the program (the message names it).
STATUSES = ("passed", "unsupported", "failed", "error", "timeout", "memory_exceeded", "crashed", "syntax_error")
Status = Literal["passed", "unsupported", "failed", "error", "syntax_error", "timeout", "memory_exceeded", "crashed"]
TestKind = Literal["pytest", "asserts", "humaneval", "io", "stdio"]
TEST_KINDS = ("pytest", "asserts", "humaneval", "io", "stdio")


@dataclass
class Tests:
    """The tests a candidate must pass, in one of five forms.

    - ``pytest``: ``source`` is a pytest module (fixtures, parametrize, marks, test classes), run by real pytest;
      it imports the candidate as ``solution`` (``import solution`` / ``from solution import f``), and also by
      ``module`` when that names another top-level module (a test file written for ``sol.py`` imports ``sol``).
    - ``asserts``: ``asserts`` is a list of assert statements (MBPP style) that see the candidate's names;
      ``setup`` holds import lines run before them (MBPP's ``test_imports``).
    - ``humaneval``: ``source`` defines ``check(candidate)``; ``entry_point`` names the function to check.
    - ``io``: call ``entry_point(*args)`` for each entry of ``inputs``; compare with ``expected``
      (floats within ``atol`` when it is non-zero). With ``expected=None`` the outputs are only recorded
      (``RunResult.outputs``, and ``RunResult.durations`` the seconds each input took), which is how expected
      outputs are computed from a reference solution. ``time_limits`` gives each input its own limit (seconds);
      ``oracle`` says how outputs compare ("eq", "set", "not_none": see the runner's oracles.py).
    - ``stdio``: whole programs. Each of ``cases`` ({"stdin": ..., "stdout": ...}) runs the program as
      ``__main__`` in a fresh process with that input; ``compare`` is "exact", "whitespace" (the same
      whitespace-separated tokens) or "tokens" (the same, numbers within ``atol`` + ``rtol`` * |expected|).
      ``timeout_s`` of the job is the limit of each case.
    """

    __test__ = False  # not a pytest test class, despite the name

    kind: TestKind
    source: str = ""
    asserts: list[str] = field(default_factory=list)
    setup: str = ""
    entry_point: str | None = None
    inputs: list[list[Any]] | None = None
    expected: list[Any] | None = None
    atol: float = 0.0
    time_limits: list[float] | None = None
    oracle: str = "eq"
    cases: list[dict] | None = None
    compare: str = "whitespace"
    rtol: float = 0.0
    module: str = "solution"

    def to_dict(self) -> dict:
        data = asdict(self)
        if data["module"] == "solution":  # left out at its default, so run folders from before it resume
            del data["module"]
        return data


@dataclass
class Job:
    program: str
    tests: Tests
    timeout_s: float = 10.0
    memory_mb: int = 512

    @property
    def budget_s(self) -> float:
        """The wall time the whole job may take: its timeout, or one timeout per stdio case. With per-input time
        limits (io tests) the timeout still caps the whole run, as EvalPlus caps a group of inputs."""
        if self.tests.kind == "stdio":
            return self.timeout_s * max(1, len(self.tests.cases or [])) + 1.0
        return self.timeout_s

    def to_dict(self) -> dict:
        return {"program": self.program, "tests": self.tests.to_dict(),
                "timeout_s": self.timeout_s, "memory_mb": self.memory_mb}


@dataclass
class TestOutcome:
    __test__ = False

    name: str
    outcome: Literal["passed", "failed", "error", "timeout", "not_run", "skipped", "unsupported"]
    message: str = ""
    expected: str | None = None  # repr of the expected value, where an `==` assertion shows one
    actual: str | None = None  # repr of the value the candidate produced
    traceback: str = ""  # trimmed: frames of the candidate's solution.py and of the test only


@dataclass
class RunResult:
    status: Status
    passed: int
    total: int
    tests: list[TestOutcome]
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    message: str = ""  # one line on the run as a whole: syntax error position, timeout, crash reason
    syntax_error: dict | None = None  # {"line": int, "col": int, "msg": str}
    outputs: list[Any] | None = None  # io tests with expected=None: what the candidate returned
    durations: list[float] | None = None  # io tests with expected=None: seconds each input took

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tests"] = [asdict(t) for t in self.tests]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RunResult:
        d = dict(d)
        d["tests"] = [TestOutcome(**t) for t in d.get("tests", [])]
        return cls(**d)
