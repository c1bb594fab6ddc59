"""MBPP+ expected outputs: not in the data, they are the outputs of each task's canonical solution on its inputs,
computed in the sandbox (`attach_expected`) and cached in the user cache folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from benchmarks.mbppplus import (
    evalplus_job_timeout,
    evalplus_time_limit,
    input_groups,
    oracle_expected,
    remember_groups,
)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infinicode"


# Bumped when a cache entry's fields change, so older entries are computed again.
EXPECTED_CACHE_VERSION = 2


def _expected_key(task) -> str:
    from sandbox.image.infinicode_runner.codec import encode_value

    blob = json.dumps([EXPECTED_CACHE_VERSION, task.reference, encode_value([list(a) for a in task.tests.inputs])],
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def expected_cache_file(source: str) -> Path:
    """Cache of MBPP+ expected outputs for one data file, in the user cache (never in the project)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    return default_cache_dir() / f"mbppplus-expected-{digest}.json"


WHOLE_RUN_FAILURES = ("crashed", "timeout", "memory_exceeded")
MAX_EXPECTED_BYTES = 1_000_000  # per input; larger outputs would not fit the judge's memory share


def _io_job(task, inputs: list):
    from sandbox import Job, Tests

    return Job(task.reference, Tests(kind="io", entry_point=task.tests.entry_point, inputs=inputs, expected=None,
                                     atol=task.tests.atol),
               timeout_s=max(task.timeout_s, 60.0), memory_mb=max(task.memory_mb, 1024))


# Oracles that need no copy of the reference's output (it may be an object recorded only as its type and repr).
OBJECT_ORACLES = ("evalplus_not_none", "any")


def _holds_opaque(value) -> bool:
    from sandbox.image.infinicode_runner.codec import Opaque

    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_opaque(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_opaque(k) or _holds_opaque(v) for k, v in value.items())
    return isinstance(value, Opaque)


def _input_durations(result, n: int) -> list[float | None]:
    durations = list(getattr(result, "durations", None) or [])
    return [float(durations[i]) if i < len(durations) and durations[i] is not None else None for i in range(n)]


def _canonical_outputs(tasks: list, sandbox) -> dict:
    """Run each task's reference on its inputs; cache entries (outputs tagged-encoded, seconds per input) by task id.

    A task whose whole run died (crash, timeout, memory) is run again one input per job, so the inputs that
    work are kept.
    """
    from sandbox.image.infinicode_runner.codec import encode_value

    entries = {}
    results = sandbox.run([_io_job(t, t.tests.inputs) for t in tasks]) if tasks else []
    for task, result in zip(tasks, results, strict=True):
        n = len(task.tests.inputs)
        if result.status in WHOLE_RUN_FAILURES and n > 1:
            singles = sandbox.run([_io_job(task, [args]) for args in task.tests.inputs])
            outcomes = [r.tests[0] if r.tests else None for r in singles]
            outputs = [(r.outputs or [None])[0] if r.outputs is not None else None for r in singles]
            pairs = list(zip(singles, outcomes, strict=True))
            ok = [r.outputs is not None and o is not None and o.outcome == "passed" for r, o in pairs]
            reasons = [o.message if o is not None and o.message else r.message for r, o in pairs]
            durations = [_input_durations(r, 1)[0] for r in singles]
            duration = max((r.duration_s for r, good in zip(singles, ok, strict=True) if good), default=0.0)
        else:
            outcomes = list(result.tests or [])
            outputs = list(result.outputs or [])
            ok = [result.outputs is not None and i < len(outputs) and i < len(outcomes)
                  and outcomes[i].outcome == "passed" for i in range(n)]
            reasons = [(outcomes[i].message if i < len(outcomes) else "") or result.message for i in range(n)]
            durations = _input_durations(result, n)
            duration = result.duration_s
        for i in range(n):
            if ok[i] and task.tests.oracle not in OBJECT_ORACLES and _holds_opaque(outputs[i]):
                ok[i] = False
                reasons[i] = f"its output {outputs[i]!r} is an object that cannot be compared as data"
            if ok[i]:
                size = len(json.dumps(encode_value(outputs[i])))
                if size > MAX_EXPECTED_BYTES:
                    ok[i] = False
                    reasons[i] = f"its output is {size / 1e6:.1f} MB as data, too large to send to the judge"
        keep = [i for i in range(n) if ok[i]]
        entries[task.task_id] = {
            "key": _expected_key(task), "keep": keep, "expected": encode_value([outputs[i] for i in keep]),
            # the reference's seconds on each kept input (None where the sandbox did not time inputs)
            "durations": [durations[i] for i in keep],
            "dropped": {str(i): reasons[i] for i in range(n) if not ok[i]},
            "status": result.status, "message": result.message, "duration_s": duration,
            # a task whose canonical run needed splitting is heavy: its candidates get the larger container
            "memory_mb": max(task.memory_mb, 1024) if result.status in WHOLE_RUN_FAILURES else task.memory_mb}
    return entries


def judge_timeout(canonical_s: float, base_s: float = 10.0) -> float:
    """Time a candidate gets for all of a task's inputs: ample next to the canonical solution's own time."""
    return float(max(base_s, round(4 * canonical_s + 5)))


def _left_out_notes(task, entry: dict) -> list[dict]:
    reasons: dict[str, list[str]] = {}
    for index, reason in sorted(entry["dropped"].items(), key=lambda kv: int(kv[0])):
        reasons.setdefault(reason, []).append(index)
    return [{"task_id": task.task_id, "kind": "inputs_left_out",
             "note": f"{len(indices)} input(s) left out ({', '.join(indices)}): "
                     f"the canonical solution gave no usable output ({reason})"}
            for reason, indices in reasons.items()]


def _apply_entry(task, entry: dict) -> None:
    """Give a task its kept inputs, their expected values, and EvalPlus's time limits where the inputs were timed."""
    from sandbox.image.infinicode_runner.codec import decode_value

    groups = [input_groups(task)[i] for i in entry["keep"]]
    task.tests.inputs = [task.tests.inputs[i] for i in entry["keep"]]
    remember_groups(task, groups.count("base"))
    task.tests.expected = oracle_expected(task, decode_value(entry["expected"]))
    durations = entry.get("durations") or []
    if len(durations) == len(entry["keep"]) and all(d is not None for d in durations):
        task.tests.time_limits = [evalplus_time_limit(d) for d in durations]
        task.timeout_s = max(task.timeout_s, evalplus_job_timeout(task.tests.time_limits, groups))
    else:  # a sandbox that does not time inputs: one budget for the whole task
        task.timeout_s = judge_timeout(float(entry.get("duration_s") or 0.0), task.timeout_s)
    task.memory_mb = max(task.memory_mb, int(entry.get("memory_mb") or 0))


def attach_expected(tasks: list, sandbox, cache_file: Path) -> tuple[list, list[dict]]:
    """Fill `tests.expected` of MBPP+ tasks with their canonical solution's outputs, run in the sandbox.

    Inputs on which the canonical solution gives no output (it raises, or returns something that cannot be
    recorded) are dropped; tasks left with no input are dropped. Each input gets EvalPlus's time limit from
    the canonical solution's own time on it. Returns the usable tasks and one note per change. Outputs are
    cached with the sandbox's tagged encoding, so tuples, sets and int dict keys survive.
    """
    cache: dict = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    todo = [t for t in tasks if t.tests.kind == "io" and t.tests.expected is None]
    fresh = [t for t in todo if cache.get(t.task_id, {}).get("key") != _expected_key(t)]
    if fresh:
        cache.update(_canonical_outputs(fresh, sandbox))
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache))
        tmp.replace(cache_file)
    notes: list[dict] = []
    usable = []
    todo_ids = {id(t) for t in todo}
    for task in tasks:
        if id(task) not in todo_ids:
            usable.append(task)
            continue
        entry = cache[task.task_id]
        if not entry["keep"]:
            first = next(iter(entry["dropped"].values()), "")
            notes.append({"task_id": task.task_id, "kind": "task_left_out",
                          "note": "left out: the canonical solution gave no usable output "
                          f"on any input ({entry['status']}: {entry['message'] or first})"})
            continue
        notes += _left_out_notes(task, entry)
        _apply_entry(task, entry)
        usable.append(task)
    return usable, notes
