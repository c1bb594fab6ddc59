"""Many tasks at once (agent/parallel.py): results in task order, and a failing model stops the others without
losing what was judged."""

from __future__ import annotations

import threading

import pytest

from agent.errors import UserError
from agent.parallel import solve_many
from agent.provider import Sample
from agent.spec import load_spec
from tests.spec_text import add_spec


class PerTaskGenerator:
    """Answers each task by its name (thread-safe); `broken` names a task whose sampling fails."""

    context_length = 4096
    name = "per-task"

    def __init__(self, answers: dict[str, str], broken: str | None = None):
        self.answers, self.broken = answers, broken
        self.lock = threading.Lock()
        self.calls: list[str] = []

    def sample(self, messages, n, **kw):
        name = next(name for name in self.answers if f"({name})" in messages[-1]["content"])
        with self.lock:
            self.calls.append(name)
        if name == self.broken:
            raise UserError("cannot reach the model server at http://localhost:9/v1")
        return [Sample(f"```python\n{self.answers[name]}```", 10, 5, "stop") for _ in range(n)]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.fixture
def tasks(tmp_path):
    specs = []
    for name in ("plus_one", "plus_two", "plus_three"):
        path = tmp_path / f"{name}.toml"
        path.write_text(add_spec(name).replace("Return the sum", f"({name}) Return the sum"))
        specs.append(load_spec(path))
    return specs


GOOD = "def add(a, b):\n    return a + b\n"


def test_results_come_back_in_task_order(sandbox, tasks, tmp_path):
    gen = PerTaskGenerator({t.name: GOOD for t in tasks})
    results = solve_many(tasks, gen, sandbox, lambda t: tmp_path / "runs" / t.name, parallel=3, samples=2, rounds=1)
    assert [r.out_dir.name for r in results] == [t.name for t in tasks]
    assert all(r.solved for r in results) and sorted(gen.calls) == sorted(t.name for t in tasks)


def test_a_failing_model_stops_the_run_and_the_rerun_resumes(sandbox, tasks, tmp_path):
    in_threads = PerTaskGenerator({t.name: GOOD for t in tasks}, broken="plus_two")
    with pytest.raises(UserError, match="cannot reach the model server"):
        solve_many(tasks, in_threads, sandbox, lambda t: tmp_path / "threads" / t.name, parallel=3, samples=2,
                   rounds=1)

    gen = PerTaskGenerator({t.name: GOOD for t in tasks}, broken="plus_two")
    with pytest.raises(UserError, match="cannot reach the model server"):
        solve_many(tasks, gen, sandbox, lambda t: tmp_path / "runs" / t.name, parallel=1, samples=2, rounds=1)
    assert gen.calls == ["plus_one", "plus_two"]  # no task started after the failure
    assert (tmp_path / "runs" / "plus_one" / "run.json").is_file()

    again = PerTaskGenerator({t.name: GOOD for t in tasks})
    results = solve_many(tasks, again, sandbox, lambda t: tmp_path / "runs" / t.name, parallel=3, samples=2,
                         rounds=1)
    assert all(r.solved for r in results)
    assert sorted(again.calls) == ["plus_three", "plus_two"]  # the finished task is not sampled again
