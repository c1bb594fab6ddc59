"""`infinicode evaluate`: samples made elsewhere (human-eval and EvalPlus formats), judged in the real sandbox on real
benchmark data, with the result files those tools write."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import UserError
from benchmarks.evaluate_samples import evaluate_samples, read_samples

REPO = Path(__file__).resolve().parent.parent


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def humaneval_records(datasets) -> list[dict]:
    with gzip.open(datasets / "HumanEval.jsonl.gz", "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def mbppplus_records(datasets) -> dict[str, dict]:
    return {r["task_id"]: r for r in json.loads((datasets / "mbppplus.json").read_text())}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infinicode.cli", "evaluate", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=600, check=False)


def test_humaneval_completions_and_solutions(sandbox, datasets, humaneval_records, tmp_path):
    """Canonical completions pass (appended to the prompt, as human-eval does), a wrong one fails, a whole program
    in EvalPlus's "solution" field passes; both result files have the tools' shapes."""
    records = humaneval_records[:6]
    rows = [{"task_id": r["task_id"], "completion": r["canonical_solution"]} for r in records]
    rows.append({"task_id": records[0]["task_id"], "completion": "    return not True\n", "note": "kept"})
    rows.append({"task_id": records[1]["task_id"], "solution": records[1]["prompt"] + records[1]["canonical_solution"]})
    samples = write_jsonl(tmp_path / "samples.jsonl", rows)

    summary = evaluate_samples("humaneval", samples, data=str(datasets), sandbox=sandbox)

    results = read_jsonl(tmp_path / "samples.jsonl_results.jsonl")
    assert [r["passed"] for r in results] == [True] * 6 + [False, True]
    assert all(r["result"] == "passed" for r in results if r["passed"])
    assert results[6]["result"].startswith("failed: ") and results[6]["note"] == "kept"  # input fields kept
    assert {k for r in results for k in r} <= {"task_id", "completion", "solution", "note", "result", "passed"}
    # tasks 0 and 1 have two samples, one of them failing for task 0: pass@1 = (0.5 + 1 + 4) / 6
    assert summary["pass_at"] == {"pass@1": pytest.approx(5.5 / 6)}
    assert (summary["samples"], summary["tasks"], summary["passed"]) == (8, 6, 7)

    evalplus = json.loads((tmp_path / "samples_eval_results.json").read_text())
    assert set(evalplus) == {"date", "hash", "eval", "pass_at_k"}
    assert list(evalplus["eval"]) == [r["task_id"] for r in records]
    first = evalplus["eval"][records[0]["task_id"]]
    assert [e["base_status"] for e in first] == ["pass", "fail"]
    assert set(first[0]) == {"task_id", "solution", "base_status", "plus_status", "base_fail_tests", "plus_fail_tests"}
    assert first[1]["solution"] == records[0]["prompt"] + "    return not True\n"
    assert first[1]["base_fail_tests"] and first[0]["plus_status"] is None
    assert evalplus["pass_at_k"] == {"base": {"pass@1": pytest.approx(5.5 / 6)}}


def test_mbpp_solutions_from_any_split(sandbox, datasets, tmp_path):
    """EvalPlus-format whole programs for sanitized MBPP, from the test and train splits; a wrong one fails."""
    records = {f"Mbpp/{r['task_id']}": r for r in json.loads((datasets / "sanitized-mbpp.json").read_text())}
    ids = ["Mbpp/11", "Mbpp/12", "Mbpp/602"]
    rows = [{"task_id": t, "solution": records[t]["code"]} for t in ids]
    rows.append({"task_id": "Mbpp/11", "solution": "def remove_Occ(s, ch):\n    return s\n"})
    summary = evaluate_samples("mbpp", write_jsonl(tmp_path / "mbpp.jsonl", rows), data=str(datasets),
                               sandbox=sandbox, out=tmp_path / "out")
    results = read_jsonl(tmp_path / "out" / "mbpp.jsonl_results.jsonl")
    assert [r["passed"] for r in results] == [True, True, True, False]
    assert summary["pass_at"]["pass@1"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert (tmp_path / "out" / "mbpp_eval_results.json").is_file()


def test_mbppplus_reports_base_and_plus_like_evalplus(sandbox, datasets, mbppplus_records, tmp_path, monkeypatch):
    """A solution right on the base inputs but wrong on some plus inputs: base passes, plus fails, as EvalPlus
    reports it; the canonical solution passes both."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    record = mbppplus_records["Mbpp/3"]  # is_not_prime(n)
    # the reference, except that it gives up above 100 (the base inputs go up to 37, most plus inputs are larger)
    wrong_on_big = record["canonical_solution"].replace("    if n == 1:", "    if n > 100:\n        return None\n"
                                                        "    if n == 1:")
    rows = [{"task_id": "Mbpp/3", "solution": record["canonical_solution"]},
            {"task_id": "Mbpp/3", "solution": wrong_on_big}]
    summary = evaluate_samples("mbppplus", write_jsonl(tmp_path / "plus.jsonl", rows), data=str(datasets),
                               sandbox=sandbox)
    entries = json.loads((tmp_path / "plus_eval_results.json").read_text())["eval"]["Mbpp/3"]
    assert [(e["base_status"], e["plus_status"]) for e in entries] == [("pass", "pass"), ("pass", "fail")]
    assert entries[1]["plus_fail_tests"] and not entries[1]["base_fail_tests"]
    assert all(args[0] > 100 for args in entries[1]["plus_fail_tests"])
    assert summary["pass_at_k"] == {"base": {"pass@1": 1.0}, "plus": {"pass@1": 0.5}}


def test_malformed_samples_name_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "HumanEval/0", "completion": "x"}\n\n{"task_id": "HumanEval/1"\n')
    with pytest.raises(UserError, match=r"bad.jsonl line 3: not JSON"):
        read_samples(bad)
    bad.write_text('{"task_id": "HumanEval/0", "completion": 3}\n')
    with pytest.raises(UserError, match=r"line 1: needs a \"completion\" \(human-eval\) or \"solution\""):
        read_samples(bad)
    bad.write_text('{"completion": "x"}\n')
    with pytest.raises(UserError, match=r"line 1: no \"task_id\""):
        read_samples(bad)
    bad.write_text("\n\n")
    with pytest.raises(UserError, match="holds no samples"):
        read_samples(bad)


def test_cli_bad_input_is_one_line_and_exit_2(datasets, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "HumanEval/0", "completion": "x"}\n["a list"]\n')
    unknown = write_jsonl(tmp_path / "unknown.jsonl", [{"task_id": "HumanEval/0", "completion": "x"},
                                                        {"task_id": "HumanEval/9999", "completion": "x"}])
    cases = [(("humaneval", str(bad)), f"{bad} line 2: a JSON list, not an object"),
             (("humaneval", str(tmp_path / "missing.jsonl")), "no samples file"),
             (("humaneval", str(unknown), "--data", str(datasets)), "not in humaneval: HumanEval/9999"),
             (("nosuch", str(unknown)), "unknown suite 'nosuch'")]
    for args, message in cases:
        done = cli(*args)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("infinicode: error: ") and message in lines[0], done.stderr
        assert done.stdout == ""
    assert not (tmp_path / "unknown.jsonl_results.jsonl").exists()


def test_cli_prints_pass_at_k_and_json(datasets, humaneval_records, tmp_path):
    rows = [{"task_id": r["task_id"], "completion": r["canonical_solution"]} for r in humaneval_records[:3]] * 5
    samples = write_jsonl(tmp_path / "five.jsonl", rows)
    done = cli("humaneval", str(samples), "--data", str(datasets), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["pass_at"] == {"pass@1": 1.0, "pass@5": 1.0}  # n = 5 per task: pass@10 is not defined
    assert "pass@1 1.000, pass@5 1.000" in done.stderr
    assert len(read_jsonl(tmp_path / "five.jsonl_results.jsonl")) == 15


LIAR = "class Liar:\n    def __eq__(self, other):\n        return True\n    def __hash__(self):\n        return 0\n" \
       "    def __iter__(self):\n        return iter(())\n"


def test_mbppplus_oracles_and_time_limits_as_evalplus(sandbox, datasets, mbppplus_records, tmp_path, monkeypatch):
    """Through the real sandbox: Mbpp/2 in any order passes (EvalPlus compares sets), Mbpp/737 only needs to agree
    on None (its reference returns re.Match objects), each input has its own time limit (max(1 s, 4 x the
    reference's time)), and an object that says it equals everything passes nothing."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    canonical = {t: mbppplus_records[t]["canonical_solution"] for t in ("Mbpp/2", "Mbpp/3", "Mbpp/295", "Mbpp/737")}
    slow_on_10 = canonical["Mbpp/3"].replace("    if n == 1:", "    if n == 10:\n        import time\n"
                                             "        time.sleep(2.5)\n    if n == 1:")
    rows = [
        ("Mbpp/2", "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))\n", True),
        ("Mbpp/2", "def similar_elements(a, b):\n    return tuple(set(a) | set(b))\n", False),
        ("Mbpp/737", canonical["Mbpp/737"], True),
        ("Mbpp/737", "def check_str(s):\n    return s[:1] in 'aeiouAEIOU' and s[:1] != ''\n", True),
        ("Mbpp/737", "import re\ndef check_str(s):\n    return re.search('.', s)\n", False),
        ("Mbpp/3", canonical["Mbpp/3"].replace("    if n == 1:", "    if n == 10:\n        import time\n"
                                               "        time.sleep(0.6)\n    if n == 1:"), True),
        ("Mbpp/3", slow_on_10, False),
        ("Mbpp/295", canonical["Mbpp/295"], True),
        ("Mbpp/295", "def sum_div(n):\n    return 0\n", True),  # EvalPlus accepts 0 on every input of Mbpp/295
    ]
    rows += [(tid, LIAR + f"def {mbppplus_records[tid]['entry_point']}(*args):\n    return Liar()\n", False)
             for tid in ("Mbpp/2", "Mbpp/3", "Mbpp/295")]
    samples = write_jsonl(tmp_path / "plus.jsonl", [{"task_id": t, "solution": code} for t, code, _ in rows])
    evaluate_samples("mbppplus", samples, data=str(datasets), sandbox=sandbox)
    results = read_jsonl(tmp_path / "plus.jsonl_results.jsonl")
    assert [r["passed"] for r in results] == [want for _, _, want in rows], [r["result"] for r in results]
    assert results[6]["result"] == "timed out"
    slow = json.loads((tmp_path / "plus_eval_results.json").read_text())["eval"]["Mbpp/3"][1]
    assert slow["base_status"] == "timeout"
