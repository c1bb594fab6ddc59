"""`infinicode solve` end to end: the real CLI, the real embedded model, the real sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.spec import load_spec
from sandbox import Job

REPO = Path(__file__).resolve().parents[1]


def infinicode(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "infinicode.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_bad_spec_exits_2_with_one_line_before_loading_anything(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text((REPO / "examples" / "add.toml").read_text() + "\n[limits]\nmemory_mb = 1\n")
    proc = infinicode("solve", str(spec), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"infinicode: error: {spec}: limits.memory_mb: must be between 32 and 65536, got 1"]
    assert proc.stdout == "" and not (tmp_path / "run").exists()


def test_missing_spec_exits_2(tmp_path):
    proc = infinicode("solve", str(tmp_path / "nope.toml"))
    assert proc.returncode == 2 and "no such spec file" in proc.stderr


@pytest.mark.slow
def test_solve_trivial_example_with_the_embedded_model(tmp_path, sandbox):
    out = tmp_path / "run"
    proc = infinicode("solve", "examples/add.toml", "--out", str(out), "--samples", "4", "--rounds", "2",
                      "--seed", "0")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "done" and run["task_id"] == "add"
    assert "SmolLM2" in run["model"] and run["adapter"] is None
    assert "Write a Python function `add`" in run["round0_prompt"]
    trajectory = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    assert trajectory and all(r["completion_tokens"] > 0 for r in trajectory)
    ran = [r for r in trajectory if r["result"] is not None]
    assert ran and all(r["result"]["total"] == 4 or r["result"]["status"] != "failed" for r in ran)
    assert (out / "report.md").exists() and "solve" in proc.stderr and "best" in proc.stderr
    assert 'id="r0c0"' in (out / "report.html").read_text()  # the page of the run, written at its end

    # the exit code, run.json and the printed solution agree with the sandbox's own verdict on it
    task = load_spec(REPO / "examples" / "add.toml")
    verdict = sandbox.run([Job(run["solution"], task.tests)])[0]
    assert (proc.returncode == 0) == run["solved"] == verdict.ok
    assert proc.stdout.strip() == run["solution"].strip() == (out / "solution.py").read_text().strip()
    assert proc.returncode == 0, "the embedded model did not solve `add` in 2 rounds of 4 samples"

    # the same command on the finished folder returns the same outcome without new work
    again = infinicode("solve", "examples/add.toml", "--out", str(out), "--samples", "4", "--rounds", "2",
                       "--seed", "0")
    assert again.returncode == proc.returncode and again.stdout == proc.stdout
    assert len((out / "trajectory.jsonl").read_text().splitlines()) == len(trajectory)
