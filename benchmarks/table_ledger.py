"""A whole-suite table measured over several sittings: one JSONL line per finished task, committed with the code.

A full table (HumanEval + MBPP + MBPP+, 4 samples x 3 rounds, two arms) takes longer on a 2-core machine than one
working session, and run folders hold the tasks' prompts (benchmark text, never committed). So `measure_table
--ledger FILE` runs the suites in chunks of tasks, both arms of a chunk before the next, and appends one line per
task to FILE: its numbers in both arms (no prompt, no code). The next sitting, on any machine, skips the tasks
already in the ledger, and the table is computed from the ledger's lines. A line counts only for the settings it
was measured with.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from benchmarks.run_bench import summarize

# the settings a ledger line was measured with; lines with other values are not mixed into a table
SETTING_KEYS = ("samples", "rounds", "max_new_tokens", "model", "adapter", "quantization", "temperature", "top_k",
                "seed", "stop_at_answer")
# a task's numbers that the table needs (task_summary's row without its run folder)
ROW_KEYS = ("task_id", "solved", "solved_in_round", "solved_by_round", "n", "c", "samples_planned",
            "candidates_run", "candidates_judged", "tokens", "wall_s", "stop_reason")


def settings_of(config) -> dict:
    return {key: getattr(config, key) for key in SETTING_KEYS}


def read(path: str | Path, suite: str, settings: dict) -> dict[str, dict]:
    """The ledger's lines for this suite and settings, by task id (a later line for a task replaces an earlier)."""
    path = Path(path)
    lines = {}
    if not path.is_file():
        return lines
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not a JSON line ({exc.msg}); remove or repair that line") from exc
        if line.get("suite") == suite and line.get("settings") == settings:
            lines[line["task_id"]] = line
    return lines


def append(path: str | Path, suite: str, settings: dict, results: dict) -> int:
    """Add the tasks of one bench run (both arms) to the ledger; returns how many lines were written.

    The chunk's wall time is shared out over its tasks, so that summing a suite's lines gives its wall time."""
    refine = {row["task_id"]: row for row in results["per_task"]}
    resample = {row["task_id"]: row for row in (results.get("baseline") or {}).get("per_task", [])}
    ids = [task_id for task_id in refine if task_id in resample]
    share = round((results.get("bench_wall_s") or 0) / len(ids), 3) if ids else 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        for task_id in ids:
            fh.write(json.dumps({"suite": suite, "settings": settings, "task_id": task_id,
                                 "model": results.get("model"), "wall_share_s": share,
                                 "refine": {k: refine[task_id].get(k) for k in ROW_KEYS},
                                 "resample": {k: resample[task_id].get(k) for k in ROW_KEYS}}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return len(ids)


def results_from(lines: list[dict], suite: str, settings: dict) -> dict:
    """A bench's results (the parts `measure_table.table` reads) computed from a suite's ledger lines."""
    refine = [line["refine"] for line in lines]
    resample = [line["resample"] for line in lines]
    return {"suite": suite, "settings": settings, **summarize(refine), "per_task": refine,
            "baseline": {"mode": "resample", **summarize(resample), "per_task": resample},
            "model": next((line.get("model") for line in lines if line.get("model")), settings.get("model")),
            "bench_wall_s": round(sum(line.get("wall_share_s") or 0 for line in lines), 3)}
