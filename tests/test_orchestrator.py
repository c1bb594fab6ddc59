"""The loop, driven by a scripted generator (a fixed list of candidates) against the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import UserError
from agent.orchestrator import solve_task
from agent.prompts import task_prompt
from agent.provider import Sample
from agent.runfolder import RoundSummary
from agent.scoring import normalize_code
from agent.spec import Task, load_spec
from sandbox import Tests as SandboxTests

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SYNTAX = "def add(a, b)\n    return a + b\n"  # does not parse
WRONG = "def add(a, b):\n    return a - b\n"  # passes 1 of 4 (add(0, 0) == 0)
WRONG_2 = "def add(a, b):\n    return a * b\n"  # passes 1 of 4 too
FIX = "def add(a, b):\n    return a + b\n"
WRONG_REFORMATTED = 'def add(a,b):\n    """Add."""\n    # subtract, on purpose\n    return a-b\n'




class ScriptedGenerator:
    """Hands out a fixed list of candidates, in order, and remembers every call. Tokens are words."""

    context_length = 2048
    name = "scripted"

    def __init__(self, script: list[str], log: list | None = None, interrupt_at_call: int | None = None):
        self.script = list(script)
        self.calls: list[dict] = []
        self.log = log if log is not None else []
        self.interrupt_at_call = interrupt_at_call

    def sample(self, messages, n, **kw):
        if self.interrupt_at_call is not None and len(self.calls) == self.interrupt_at_call:
            raise KeyboardInterrupt
        self.calls.append({"messages": messages, "n": n, **kw})
        self.log.append(f"sample {len(self.calls) - 1}")
        assert len(self.script) >= n, "the loop asked for more candidates than the script has"
        codes, self.script = self.script[:n], self.script[n:]
        prompt_tokens = sum(self.count_tokens(m["content"]) for m in messages)
        return [Sample(text=f"Here you go:\n```python\n{c}```\n", prompt_tokens=prompt_tokens,
                       completion_tokens=self.count_tokens(c)) for c in codes]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


class CountingSandbox:
    """The real sandbox, with a log of what was submitted to it."""

    def __init__(self, sandbox, log: list | None = None):
        self.sandbox = sandbox
        self.jobs = []
        self.log = log if log is not None else []

    def submit(self, job):
        self.jobs.append(job)
        self.log.append(f"submit {len(self.jobs) - 1}")
        return self.sandbox.submit(job)


@pytest.fixture(scope="module")
def add_task() -> Task:
    return load_spec(EXAMPLES / "add.toml")


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]


def by_id(out: Path) -> dict[tuple[int, int], dict]:
    return {(r["round"], r["index"]): r for r in records(out)}


def user_text(messages: list[dict]) -> str:
    return messages[-1]["content"]


def test_refine_ranks_feeds_back_and_stops_at_first_pass(sandbox, add_task, tmp_path):
    gen = ScriptedGenerator([SYNTAX, WRONG, FIX, WRONG_2, WRONG_2, WRONG_2])
    res = solve_task(add_task, gen, CountingSandbox(sandbox), tmp_path, samples=2, rounds=3, top_k=1, chunk_size=2)

    assert res.solved and res.solution == FIX and res.stop_reason == "solved"
    assert len(gen.calls) == 2 and len(gen.script) == 2  # round 2 never sampled
    assert [r.round for r in res.rounds] == [0, 1] and res.rounds[-1].solved

    # round 0: the wrong answer (1/4 tests) ranks above the syntax error (0 tests, does not parse)
    recs = by_id(tmp_path)
    assert recs[(0, 0)]["score"]["syntax_valid"] is False and recs[(0, 0)]["result"]["status"] == "syntax_error"
    assert (recs[(0, 1)]["score"]["passed"], recs[(0, 1)]["score"]["total"]) == (1, 4)
    assert res.rounds[0].best_score == 0.25

    # round 1 refines the best failing candidate, with the sandbox's evidence
    assert gen.calls[0]["messages"] == task_prompt(add_task)
    refine = user_text(gen.calls[1]["messages"])
    assert WRONG.strip() in refine and SYNTAX.strip() not in refine
    assert "It passed 1 of 4 tests; 3 failed." in refine
    assert "Test assert add(1, 2) == 3 failed.\n  expected: 3\n  got:      -1" in refine
    assert "left -1 == right 3" not in refine  # the judge's comparison text says what the values say
    assert recs[(1, 0)]["parent"] == [0, 1] and recs[(1, 0)]["feedback"]["kept"][0] == "first_failure"

    # the run folder
    assert (tmp_path / "solution.py").read_text() == FIX
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["solved"] and run["status"] == "done" and run["solution"] == FIX and run["task_id"] == "add"
    assert run["round0_messages"] == task_prompt(add_task) and "add(1, 2) == 3" in run["round0_prompt"]
    assert run["model"] == "scripted" and run["settings"]["samples"] == 2
    assert run["tokens"] == sum(r["completion_tokens"] for r in recs.values())
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# add: solved") and "| 1 | 2 |" in report and FIX.strip() in report


def test_top_k_refines_several_parents_and_skips_copies(sandbox, add_task, tmp_path):
    # round 1: the first parent's sample copies it (a duplicate), the second parent's sample fixes it
    gen = ScriptedGenerator([SYNTAX, WRONG, WRONG_REFORMATTED, FIX])
    box = CountingSandbox(sandbox)
    res = solve_task(add_task, gen, box, tmp_path, samples=2, rounds=2, top_k=2)

    assert res.solved
    first, second = user_text(gen.calls[1]["messages"]), user_text(gen.calls[2]["messages"])
    assert WRONG.strip() in first and "expected: 3" in first
    assert SYNTAX.strip() in second and "Syntax error at 1:14: expected ':'" in second
    recs = by_id(tmp_path)
    assert recs[(1, 0)]["duplicate_of"] == [0, 1] and recs[(1, 0)]["result"] is None
    assert len(box.jobs) == 3  # the copy was not run
    assert res.rounds[1].duplicates == 1 and res.rounds[1].run == 1


class BatchingScript(ScriptedGenerator):
    """A scripted generator that, like an in-process model, takes a round's prompts in one call."""

    batches_prompts = True

    def __init__(self, script: list[str]):
        super().__init__(script)
        self.prompts_per_call: list[int] = []

    def sample_prompts(self, requests, **kw):
        self.prompts_per_call.append(len(requests))
        return [self.sample(messages, n, seed=seed, **kw) for messages, n, seed, _ in requests]


def test_a_model_that_batches_gets_a_rounds_prompts_in_one_call(sandbox, add_task, tmp_path):
    scripted = ScriptedGenerator([SYNTAX, WRONG, WRONG_REFORMATTED, FIX])
    solve_task(add_task, scripted, sandbox, tmp_path / "chunked", samples=2, rounds=2, top_k=2)
    batching = BatchingScript([SYNTAX, WRONG, WRONG_REFORMATTED, FIX])
    res = solve_task(add_task, batching, sandbox, tmp_path / "batched", samples=2, rounds=2, top_k=2)
    assert res.solved and batching.prompts_per_call == [1, 2]  # round 0, then both refinement prompts at once
    assert len(scripted.calls) == 3  # chunk by chunk: one call per parent
    assert [c["messages"] for c in batching.calls] == [c["messages"] for c in scripted.calls]
    assert [c["seed"] for c in batching.calls] == [c["seed"] for c in scripted.calls]


def test_duplicates_within_a_round_are_not_run(sandbox, add_task, tmp_path):
    box = CountingSandbox(sandbox)
    gen = ScriptedGenerator([WRONG, WRONG_REFORMATTED, WRONG_2])
    res = solve_task(add_task, gen, box, tmp_path, samples=3, rounds=1)
    assert not res.solved and res.stop_reason == "rounds"
    assert [job.program for job in box.jobs] == [WRONG, WRONG_2]
    recs = by_id(tmp_path)
    assert recs[(0, 1)]["duplicate_of"] == [0, 0] and recs[(0, 1)]["score"] is None
    assert res.rounds[0] == RoundSummary(round=0, sampled=3, run=2, duplicates=1, passed=0, best_score=0.25,
                                         best_so_far=0.25, solved=False)
    assert (tmp_path / "solution.py").read_text() == WRONG  # best attempt; run.json says it is not solved
    assert "not solved" in (tmp_path / "report.md").read_text()


def test_normalize_code_ignores_comments_docstrings_and_layout():
    assert normalize_code(WRONG) == normalize_code(WRONG_REFORMATTED)
    assert normalize_code(WRONG) != normalize_code(WRONG_2)
    broken_a = "def add(a, b)  # first\n    return a+b\n"
    broken_b = "def add(a, b)\n\n    return a + b   # second\n"
    assert normalize_code(broken_a) == normalize_code(broken_b)
    assert normalize_code(broken_a) != normalize_code("def add(a, b)\n    return a - b\n")


def test_sampling_overlaps_with_execution(sandbox, add_task, tmp_path):
    log: list[str] = []
    gen = ScriptedGenerator([WRONG, WRONG_2, SYNTAX], log=log)
    solve_task(add_task, gen, CountingSandbox(sandbox, log=log), tmp_path, samples=3, rounds=1, chunk_size=1)
    # each candidate goes to the sandbox before the next one is sampled
    assert log == ["sample 0", "submit 0", "sample 1", "submit 1", "sample 2", "submit 2"]


def test_resume_skips_finished_work(sandbox, add_task, tmp_path):
    settings = dict(samples=2, rounds=3, top_k=1)
    first = ScriptedGenerator([SYNTAX, WRONG], interrupt_at_call=1)  # interrupted when round 1 starts sampling
    with pytest.raises(KeyboardInterrupt):
        solve_task(add_task, first, CountingSandbox(sandbox), tmp_path, **settings)
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "running"
    assert len(records(tmp_path)) == 2
    with open(tmp_path / "trajectory.jsonl", "a") as fh:
        fh.write('{"round": 1, "index": 0, "cod')  # a record torn by the interruption

    second = ScriptedGenerator([FIX, WRONG_2])
    box = CountingSandbox(sandbox)
    res = solve_task(add_task, second, box, tmp_path, **settings)
    assert res.solved and res.solution == FIX
    assert "Your previous code" in user_text(second.calls[0]["messages"])  # went straight to round 1
    assert [job.program for job in box.jobs][0] == FIX  # round 0 was not run again
    ids = [(r["round"], r["index"]) for r in records(tmp_path)]
    assert sorted(ids) == [(0, 0), (0, 1), (1, 0), (1, 1)] and len(set(ids)) == len(ids)
    assert [r.round for r in res.rounds] == [0, 1]

    # a finished run is returned as it is
    third = ScriptedGenerator([])
    again = solve_task(add_task, third, CountingSandbox(sandbox), tmp_path, **settings)
    assert third.calls == [] and again.solved and again.solution == FIX and again.tokens == res.tokens

    with pytest.raises(UserError, match="samples"):
        solve_task(add_task, ScriptedGenerator([]), sandbox, tmp_path, samples=4, rounds=3, top_k=1)


class FailingAfter(ScriptedGenerator):
    """The script's chunks, then the model's backend fails (a server that went down) with one line."""

    def __init__(self, script: list[str], calls: int):
        super().__init__(script)
        self.allowed = calls

    def sample(self, messages, n, **kw):
        if len(self.calls) == self.allowed:
            raise UserError("cannot reach the model server at http://127.0.0.1:9/v1")
        return super().sample(messages, n, **kw)


def test_a_failing_model_keeps_the_candidates_already_sampled(sandbox, add_task, tmp_path):
    # chunk 0 (two candidates) is sampled and submitted; sampling chunk 1 fails while chunk 0 may still run
    failing = FailingAfter([WRONG, WRONG_2], calls=1)
    with pytest.raises(UserError, match="cannot reach"):
        solve_task(add_task, failing, sandbox, tmp_path, samples=4, rounds=1, chunk_size=2)
    judged = records(tmp_path)
    assert sorted((r["round"], r["index"]) for r in judged) == [(0, 0), (0, 1)] and all(r["result"] for r in judged)
    resumed = ScriptedGenerator([FIX, WRONG])
    res = solve_task(add_task, resumed, sandbox, tmp_path, samples=4, rounds=1, chunk_size=2)
    assert res.solved and len(resumed.calls) == 1 and resumed.calls[0]["n"] == 2  # only chunk 1 was sampled


def test_resample_mode_never_shows_feedback(sandbox, add_task, tmp_path):
    gen = ScriptedGenerator([WRONG, WRONG_2, FIX])
    res = solve_task(add_task, gen, sandbox, tmp_path, samples=1, rounds=3, mode="resample")
    assert res.solved and len(res.rounds) == 3
    assert all(call["messages"] == task_prompt(add_task) for call in gen.calls)
    assert len({call["seed"] for call in gen.calls}) == 3  # a fresh seed per round


def test_resample_takes_round0_of_a_finished_refine_run(sandbox, add_task, tmp_path):
    refine = tmp_path / "refine"
    solve_task(add_task, ScriptedGenerator([WRONG, WRONG_2, FIX, WRONG]), sandbox, refine, samples=2, rounds=2)
    round0 = [r for r in records(refine) if r["round"] == 0]

    gen = ScriptedGenerator([SYNTAX, FIX])
    res = solve_task(add_task, gen, sandbox, tmp_path / "resample", samples=2, rounds=2, mode="resample",
                     round0_from=refine)
    assert res.solved and len(gen.calls) == 1  # only round 1 was sampled
    shared = [r for r in records(tmp_path / "resample") if r["round"] == 0]
    assert [(r["code"], r["result"]["status"]) for r in shared] == [(r["code"], r["result"]["status"]) for r in round0]
    run = json.loads((tmp_path / "resample/run.json").read_text())
    assert run["round0_from"] == str(refine) and run["settings"]["mode"] == "resample"
    assert run["tokens"] == sum(r["completion_tokens"] for r in round0) + gen.count_tokens(SYNTAX + FIX)

    # other settings (here the seed): round 0 is sampled, not taken
    other = ScriptedGenerator([WRONG, WRONG_2])
    solve_task(add_task, other, sandbox, tmp_path / "other", samples=2, rounds=1, mode="resample", seed=1,
               round0_from=refine)
    assert len(other.calls) == 1 and json.loads((tmp_path / "other/run.json").read_text())["round0_from"] is None


def test_token_budget_stops_the_loop(sandbox, add_task, tmp_path):
    gen = ScriptedGenerator([WRONG, WRONG_2, SYNTAX, FIX])
    res = solve_task(add_task, gen, sandbox, tmp_path, samples=4, rounds=3, chunk_size=2, max_tokens=1)
    assert not res.solved and res.stop_reason == "tokens" and len(gen.calls) == 1
    assert json.loads((tmp_path / "run.json").read_text())["stop_reason"] == "tokens"


def test_progress_events(sandbox, add_task, tmp_path):
    events = []
    solve_task(add_task, ScriptedGenerator([WRONG, FIX]), sandbox, tmp_path, samples=1, rounds=2,
               on_event=events.append)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("round_start") == 2 and kinds.count("round_end") == 2
    candidates = [e for e in events if e["type"] == "candidate"]
    assert [(c["round"], c["passed"], c["total"]) for c in candidates] == [(0, 1, 4), (1, 4, 4)]
    assert candidates[0]["best"].startswith("1/4 tests") and candidates[1]["best"].startswith("4/4 tests")
    assert events[-1]["solved"] is True


def test_prompt_code_task_gets_its_imports(sandbox, tmp_path):
    prompt_code = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum of xs."""\n'
    task = Task(task_id="demo/0", name="total", description="Sum of xs.", entry_point="total",
                signature="def total(xs: List[int]) -> int", prompt_code=prompt_code,
                tests=SandboxTests(kind="humaneval", entry_point="total",
                                   source="def check(candidate):\n    assert candidate([1, 2]) == 3\n"))
    answer = "def total(xs: List[int]) -> int:\n    return sum(xs)\n"  # leaves out the import
    gen = ScriptedGenerator([answer])
    res = solve_task(task, gen, sandbox, tmp_path, samples=1, rounds=1)
    assert prompt_code.strip() in user_text(gen.calls[0]["messages"])
    assert res.solved and res.solution == answer


def test_full_first_round_judges_every_round0_candidate(sandbox, add_task, tmp_path):
    gen = ScriptedGenerator([FIX, WRONG, WRONG_2, SYNTAX, FIX])
    res = solve_task(add_task, gen, sandbox, tmp_path, samples=4, rounds=3, chunk_size=1, full_first_round=True)
    assert res.solved and len(gen.script) == 1  # all of round 0 sampled, nothing after it
    recs = records(tmp_path)
    assert len(recs) == 4 and all(r["result"] is not None and not r["cancelled"] for r in recs)
    assert res.rounds == [RoundSummary(round=0, sampled=4, run=4, duplicates=0, passed=1, best_score=1.0,
                                       best_so_far=1.0, solved=True)]


VECTOR_TASK_TESTS = ("from solution import Vector\n\ndef test_add():\n"
                     "    assert Vector(1, 2) + Vector(3, 4) == (4, 6)\n")
VECTOR_OWN_EQ = ("class Vector:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n"
                 "    def __add__(self, other):\n        return Vector(self.x + other.x, self.y + other.y)\n"
                 "    def __eq__(self, other):\n        return (self.x, self.y) == tuple(other)\n")
VECTOR_WRONG = VECTOR_OWN_EQ.replace("return Vector(self.x + other.x, self.y + other.y)", "Vector(0, 0)")


def test_unsupported_candidates_are_reported_and_never_refined(sandbox, tmp_path):
    """A test comparing a program object with a tuple through the program's own __eq__ cannot be judged: the run
    says so, and the loop refines the candidate that failed, not the one it could not judge."""
    task = Task(task_id="vector", name="vector", description="A 2-D vector with + and ==.", entry_point="Vector",
                signature="class Vector", tests=SandboxTests("pytest", source=VECTOR_TASK_TESTS))
    gen = ScriptedGenerator([VECTOR_OWN_EQ, VECTOR_WRONG] + [VECTOR_WRONG + f"\nX = {i}\n" for i in range(2)])
    solve_task(task, gen, sandbox, tmp_path, samples=2, rounds=2, top_k=2)
    first = by_id(tmp_path)
    assert first[(0, 0)]["result"]["status"] == "unsupported"
    assert "Vector" in first[(0, 0)]["result"]["message"] and "__eq__" in first[(0, 0)]["result"]["message"]
    assert first[(0, 1)]["result"]["status"] == "failed"
    refinement = gen.calls[1]["messages"][-1]["content"]
    assert len(gen.calls) == 2 and "Vector(0, 0)" in refinement and "return Vector(self.x" not in refinement
    assert "not judged: 1 candidates" in (tmp_path / "report.md").read_text()


def test_run_folders_from_before_the_tests_module_field_resume(add_task):
    import dataclasses
    import hashlib

    from agent.orchestrator import task_fingerprint

    # run.json keeps a fingerprint of the task; folders written before Tests.module existed hashed a dict
    # without it, and must still resume at its default
    old = add_task.to_dict()
    old["tests"].pop("module", None)
    assert task_fingerprint(add_task) == hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:16]
    named = dataclasses.replace(add_task, tests=dataclasses.replace(add_task.tests, module="sol"))
    assert task_fingerprint(named) != task_fingerprint(add_task)
    assert named.tests.to_dict()["module"] == "sol"


def test_a_task_with_tuple_keyed_outputs_has_a_fingerprint():
    """MBPP+ tasks 88, 237, 740 and 758 expect dicts keyed by tuples: json could not encode them, and the run of a
    whole suite stopped there (TypeError from task_fingerprint when writing run.json)."""
    from agent.orchestrator import task_fingerprint
    from sandbox import Tests

    def task(expected):
        return Task(task_id="Mbpp/237", name="check_occurences", description="Count the tuples.",
                    entry_point="check_occurences", signature="def check_occurences(test_list)",
                    tests=Tests(kind="io", entry_point="check_occurences", inputs=[[[(3, 1), (1, 3)]]],
                                expected=expected))

    first = task_fingerprint(task([{(1, 3): 2}]))
    assert first == task_fingerprint(task([{(1, 3): 2}])) and len(first) == 16
    assert first != task_fingerprint(task([{(1, 3): 1}]))
    plain = task([{"a": 2}])
    assert task_fingerprint(plain) == task_fingerprint(task([{"a": 2}]))
