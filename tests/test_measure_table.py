"""The table script (pure data: no model, no sandbox): which tasks each arm solved, and the ledger of a table
measured over several sittings."""

import json

import pytest

from benchmarks import measure_table, table_ledger
from benchmarks.measure_table import solved_tasks


def _task(task_id, solved_in_round):
    return {"task_id": task_id, "solved": solved_in_round is not None, "solved_in_round": solved_in_round}


def test_solved_tasks_names_each_arms_tasks_and_rounds():
    results = {"suite": "humaneval",
               "per_task": [_task("HumanEval/1", 0), _task("HumanEval/2", None)],
               "baseline": {"per_task": [_task("HumanEval/1", 0), _task("HumanEval/2", 2), _task("HumanEval/3", None)]}}
    text = solved_tasks([{"results": results}])
    assert text.splitlines() == ["HumanEval, refinement: 1 solved: HumanEval/1 (round 0)",
                                 "HumanEval, resampling: 2 solved: HumanEval/1 (round 0), HumanEval/2 (round 2)"]


def test_an_arm_that_solved_nothing_says_so():
    results = {"suite": "mbpp", "per_task": [_task("Mbpp/2", None)], "baseline": {"per_task": []}}
    assert solved_tasks([{"results": results}]).splitlines() == [
        "MBPP (sanitized, test split), refinement: 0 solved", "MBPP (sanitized, test split), resampling: 0 solved"]


# ---------------------------------------------------------------- the ledger of a table measured over sittings

SETTINGS = {"samples": 4, "rounds": 3, "max_new_tokens": 384, "model": None, "adapter": None,
            "quantization": "nf4", "temperature": 0.8, "top_k": 2, "seed": 0, "stop_at_answer": True}


def _row(task_id, solved_in_round, n=4, c=0, tokens=100, rounds=3):
    return {"task_id": task_id, "solved": solved_in_round is not None, "solved_in_round": solved_in_round,
            "solved_by_round": [solved_in_round is not None and solved_in_round <= r for r in range(rounds)],
            "n": n, "c": c, "samples_planned": n, "candidates_run": 4, "candidates_judged": 4,
            "tokens": tokens, "wall_s": 10.0, "stop_reason": "solved" if solved_in_round is not None else "budget",
            "run_dir": "/somewhere/with/prompts"}


def _bench_results(refine, resample, wall=60.0):
    return {"per_task": refine, "baseline": {"per_task": resample}, "bench_wall_s": wall, "model": "m"}


def test_ledger_lines_round_trip_per_suite_and_settings(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    written = table_ledger.append(ledger, "humaneval", SETTINGS, _bench_results(
        [_row("HumanEval/0", 0, c=1), _row("HumanEval/1", None), _row("HumanEval/2", None)],
        # the third task's resampling arm did not finish: it is not a finished task yet
        [_row("HumanEval/0", 0, c=1), _row("HumanEval/1", 2)]))
    assert written == 2
    other = dict(SETTINGS, samples=8)
    table_ledger.append(ledger, "humaneval", other, _bench_results([_row("HumanEval/5", 0)], [_row("HumanEval/5", 0)]))
    table_ledger.append(ledger, "mbpp", SETTINGS, _bench_results([_row("Mbpp/2", 0)], [_row("Mbpp/2", 0)]))
    lines = table_ledger.read(ledger, "humaneval", SETTINGS)
    assert sorted(lines) == ["HumanEval/0", "HumanEval/1"]
    assert lines["HumanEval/1"]["resample"]["solved_in_round"] == 2
    assert lines["HumanEval/0"]["wall_share_s"] == 30.0
    assert "run_dir" not in lines["HumanEval/0"]["refine"]  # no path to the prompts' folder in a committed file
    assert sorted(table_ledger.read(ledger, "humaneval", other)) == ["HumanEval/5"]


def test_a_table_from_the_ledger_counts_each_arm(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    table_ledger.append(ledger, "humaneval", SETTINGS, _bench_results(
        [_row("HumanEval/0", 0, c=2, tokens=50), _row("HumanEval/1", None), _row("HumanEval/2", 1),
         _row("HumanEval/3", None)],
        [_row("HumanEval/0", 0, c=2, tokens=60), _row("HumanEval/1", 2), _row("HumanEval/2", None),
         _row("HumanEval/3", 1)], wall=80.0))
    lines = list(table_ledger.read(ledger, "humaneval", SETTINGS).values())
    results = table_ledger.results_from(lines, "humaneval", SETTINGS)
    assert results["tasks"] == 4 and results["tokens"] == 350 and results["bench_wall_s"] == 80.0
    assert results["pass1_by_round"] == [0.25, 0.5, 0.5]
    assert results["baseline"]["pass1_by_round"] == [0.25, 0.5, 0.75]
    assert results["pass_at"]["1"] == pytest.approx(0.5 / 4)  # one task with 2 of 4 round-0 candidates passing
    results["tasks_total"] = 164
    row = measure_table.table([{"results": results}]).splitlines()[2]
    assert row.startswith("| HumanEval | 4 of 164 | 4 x 3 | 12.5% | 25.0% | 50.0% | 75.0% | 350 / 360 | 40 / 40 | 80 |")


def test_a_broken_ledger_line_is_named(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(json.dumps({"suite": "x"}) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ledger.jsonl:2: not a JSON line"):
        table_ledger.read(ledger, "humaneval", SETTINGS)


def test_print_only_prints_the_ledgers_table_without_docker_or_model(tmp_path, datasets, capsys, monkeypatch):
    monkeypatch.setenv("INFINICODE_DATA", str(datasets))
    ledger = tmp_path / "ledger.jsonl"
    table_ledger.append(ledger, "humaneval", SETTINGS, _bench_results(
        [_row("HumanEval/0", 0, c=4), _row("HumanEval/7", None)],
        [_row("HumanEval/0", 0, c=4), _row("HumanEval/7", 1)]))
    assert measure_table.main(["--suites", "humaneval", "--ledger", str(ledger), "--print-only"]) == 0
    out = capsys.readouterr().out
    assert "| HumanEval | 2 of 164 | 4 x 3 | 50.0% | 50.0% | 50.0% | 100.0% |" in out
    assert "HumanEval, resampling: 2 solved: HumanEval/0 (round 0), HumanEval/7 (round 1)" in out


def test_max_chunks_stops_after_that_many_chunks(tmp_path, datasets, capsys, monkeypatch, embedded_model):
    """One process per chunk (a shell loop) keeps a long run's memory from growing: --max-chunks 1 measures the
    first chunk's tasks into the ledger, both arms, and leaves the rest for the next process. Real model, real
    sandbox, one tiny MBPP task."""
    monkeypatch.setenv("INFINICODE_DATA", str(datasets))
    ledger = tmp_path / "ledger.jsonl"
    argv = ["--suites", "mbpp", "--limit", "2", "--chunk", "1", "--samples", "1", "--rounds", "1",
            "--max-new-tokens", "16", "--parallel", "1", "--ledger", str(ledger), "--out", str(tmp_path / "runs"),
            "--max-chunks", "1"]
    assert measure_table.main(argv) == 0
    lines = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]
    assert [line["task_id"] for line in lines] == ["Mbpp/11"]
    assert lines[0]["refine"]["candidates_run"] >= 1 and lines[0]["resample"]["task_id"] == "Mbpp/11"
    out = capsys.readouterr()
    assert "| MBPP (sanitized, test split) | 1 of 2 |" in out.out
    assert "stopping after 1 chunks (--max-chunks)" in out.err
