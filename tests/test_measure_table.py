"""The table script's account of which tasks each arm solved (pure data: no model, no sandbox)."""

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
