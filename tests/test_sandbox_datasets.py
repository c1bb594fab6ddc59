"""The sandbox's verdicts on real benchmark data: reference solutions pass, injected bugs fail."""

from __future__ import annotations

import gzip
import json

import pytest

from sandbox import Job, Tests

# Wraps the entry point so every call returns a slightly wrong value of the same kind.
BUG = '''
_original = {name}
def {name}(*args, **kwargs):
    value = _original(*args, **kwargs)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, list):
        return value + [None]
    if isinstance(value, tuple):
        return value + (None,)
    return "bug"
'''


@pytest.fixture(scope="module")
def humaneval(datasets):
    with gzip.open(datasets / "HumanEval.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def mbpp(datasets):
    return json.loads((datasets / "sanitized-mbpp.json").read_text())


def humaneval_job(task, program):
    return Job(program, Tests("humaneval", source=task["test"], entry_point=task["entry_point"]))


def test_all_humaneval_canonical_solutions_pass(sandbox, humaneval):
    assert len(humaneval) == 164
    results = sandbox.run([humaneval_job(t, t["prompt"] + t["canonical_solution"]) for t in humaneval])
    failures = {t["task_id"]: (r.status, r.message, [x.message for x in r.tests if x.outcome != "passed"][:2])
                for t, r in zip(humaneval, results, strict=False) if not r.ok}
    assert failures == {}
    assert all(r.total >= 1 and r.passed == r.total for r in results)


def test_every_humaneval_solution_with_an_injected_bug_fails(sandbox, humaneval):
    programs = [t["prompt"] + t["canonical_solution"] + BUG.format(name=t["entry_point"]) for t in humaneval]
    results = sandbox.run([humaneval_job(t, p) for t, p in zip(humaneval, programs, strict=False)])
    passed = [t["task_id"] for t, r in zip(humaneval, results, strict=False) if r.ok]
    assert passed == []
    assert {r.status for r in results} <= {"failed", "error"}


def test_all_sanitized_mbpp_reference_solutions_pass(sandbox, mbpp):
    assert len(mbpp) == 427
    jobs = [Job(t["code"], Tests("asserts", asserts=t["test_list"], setup="\n".join(t["test_imports"]))) for t in mbpp]
    results = sandbox.run(jobs)
    # No exceptions are expected: every one of the 427 must pass, with every assert counted.
    failures = {t["task_id"]: (r.status, r.message) for t, r in zip(mbpp, results, strict=False) if not r.ok}
    assert failures == {}
    assert all(r.total == len(t["test_list"]) for t, r in zip(mbpp, results, strict=False))


def test_wrong_mbpp_solutions_fail_with_values(sandbox, mbpp):
    task = next(t for t in mbpp if t["task_id"] == 2)
    wrong = task["code"].replace("&", "|")
    [result] = sandbox.run([Job(wrong, Tests("asserts", asserts=task["test_list"]))])
    assert result.status == "failed" and result.passed == 0
    first = result.tests[0]
    assert first.outcome == "failed" and first.actual is not None and first.expected is not None
    assert first.actual != first.expected
