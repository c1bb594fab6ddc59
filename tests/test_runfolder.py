"""The run folder's records, reader and writer (agent/runfolder.py): typed in memory, the same files on disk."""

from __future__ import annotations

import json

import pytest

from agent.errors import UserError
from agent.runfolder import BestCandidate, CandidateRecord, RoundSummary, RunFolder, RunRecord
from agent.scoring import Score
from sandbox.results import RunResult, TestOutcome

PASSED = RunResult(status="passed", passed=1, total=1, tests=[TestOutcome("test_add", "passed")])
SCORE = Score(passed=1, total=1, status="passed", syntax_valid=True, syntax_errors=[], bleu=None, length=7)


def candidate(index: int, **extra) -> CandidateRecord:
    return CandidateRecord(round=0, index=index, code=f"def f():\n    return {index}\n", **extra)


def test_records_round_trip_typed(tmp_path):
    folder = RunFolder(tmp_path / "run")
    with folder.trajectory_writer() as writer:
        writer.write(candidate(0, result=PASSED, score=SCORE, parent=None, seed=3))
        writer.write(candidate(1, duplicate_of=[0, 0]))
    run = RunRecord(task_id="add", status="done", solved=True, solution="x", best=BestCandidate(0, 0, SCORE),
                    settings={"samples": 2}, rounds=[RoundSummary(0, 2, 1, 1, 1, 1.0, 1.0, True)])
    folder.write_run(run)

    first, second = folder.read_trajectory()
    assert isinstance(first.result, RunResult) and first.result.ok and first.result.tests[0].name == "test_add"
    assert first.score == SCORE and first.score.solved and first.seed == 3
    assert second.duplicate_of == [0, 0] and second.result is None and not second.ran
    assert folder.read_run() == run and folder.finished_run() == run
    on_disk = json.loads(folder.run_path.read_text())
    assert on_disk["best"]["score"]["status"] == "passed" and on_disk["rounds"][0]["best_so_far"] == 1.0


def test_a_torn_last_line_is_ignored_by_readers_and_cut_by_the_writer(tmp_path):
    folder = RunFolder(tmp_path)
    with folder.trajectory_writer() as writer:
        writer.write(candidate(0))
    with open(folder.trajectory_path, "a") as fh:
        fh.write('{"round": 0, "index": 1, "co')  # killed mid-write
    torn = folder.trajectory_path.read_bytes()

    assert [c.index for c in folder.read_trajectory()] == [0]
    assert folder.trajectory_path.read_bytes() == torn  # reading changes nothing

    with folder.trajectory_writer() as writer:
        writer.write(candidate(1))
    assert [c.index for c in folder.read_trajectory()] == [0, 1]
    assert all(json.loads(line) for line in folder.trajectory_path.read_text().splitlines())


def test_a_bad_line_before_the_last_or_a_bad_run_json_is_one_line_error(tmp_path):
    folder = RunFolder(tmp_path)
    folder.trajectory_path.write_text('{"round": 0, "index": 0, "code": ""}\nnot json\n{"round": 0}\n')
    with pytest.raises(UserError, match=r"trajectory.jsonl:2 is not a candidate record"):
        folder.read_trajectory()
    folder.run_path.write_text("{")
    with pytest.raises(UserError, match=r"run.json is not a run record .*delete"):
        folder.read_run()


def test_an_unfinished_run_is_not_finished(tmp_path):
    folder = RunFolder(tmp_path)
    assert folder.read_run() is None and folder.finished_run() is None
    folder.write_run(RunRecord(task_id="add"))
    assert folder.read_run().status == "running" and folder.finished_run() is None
