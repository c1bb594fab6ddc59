"""MBPP+ as infinicode runs it: its base and plus inputs with their Python types back, judged as EvalPlus v0.3.1
judges them, against expected outputs computed in the sandbox.

The expected outputs are not in the data: they are the outputs of each task's canonical solution on its inputs,
computed in the sandbox (`attach_expected`) and cached in the user cache folder.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from benchmarks.suites import function_header, parse_quietly

# ---------------------------------------------------------------- inputs, with the types JSON lost


def _json_field(value: Any) -> Any:
    # Some releases store inputs as JSON text, some as JSON values.
    return json.loads(value) if isinstance(value, str) else value


def _mbppplus_inputs(rec: dict) -> list[list]:
    inputs = []
    for key in ("base_input", "plus_input"):
        value = _json_field(rec.get(key))
        if isinstance(value, list):  # one release has `{}` for "no plus inputs"
            inputs.extend(value)
    return inputs


def mbppplus_description(prompt: str) -> str:
    text = prompt.strip()
    if text.startswith('"""') and text.endswith('"""'):
        text = text[3:-3]
    return text.strip()


# JSON has no tuples, sets or complex numbers, and only string dict keys, so the released inputs lost those
# types (tuples became lists, complex numbers became strings). Each task's `assertion` field still shows its
# base calls as Python literals: their argument types are a template to give the inputs their types back.


def _literal_calls(assertion: str, entry_point: str) -> list[list]:
    calls = []
    try:
        tree = parse_quietly(assertion or "")
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry_point:
            try:
                calls.append([ast.literal_eval(arg) for arg in node.args])
            except (ValueError, SyntaxError, TypeError):
                continue  # not a literal (`14*14`): teaches nothing about types
    return calls


def _template(value: Any) -> dict:
    """The type shape of a literal, as {kind: children}: kinds "tuple"/"list"/"set" (element template),
    "dict" ((key template, value template)) and "atom:<type>" (None). Merged templates hold several kinds."""
    if isinstance(value, (tuple, list, set, frozenset)):
        kind = "tuple" if isinstance(value, tuple) else "list" if isinstance(value, list) else "set"
        return {kind: _merge([_template(x) for x in value])}
    if isinstance(value, dict):
        return {"dict": (_merge([_template(k) for k in value]), _merge([_template(v) for v in value.values()]))}
    return {f"atom:{type(value).__name__}": None}


def _merge(templates: list[dict]) -> dict:
    """One template holding every kind seen; children of the same kind are merged in turn."""
    merged: dict = {}
    for template in templates:
        for kind, child in template.items():
            if kind not in merged:
                merged[kind] = child
            elif kind == "dict":
                merged[kind] = (_merge([merged[kind][0], child[0]]), _merge([merged[kind][1], child[1]]))
            elif child is not None:
                merged[kind] = _merge([merged[kind], child])
    return merged


NUMBER_ATOMS = ("atom:int", "atom:float", "atom:complex")


def _parse_number(text: str, kinds: list[str]) -> Any:
    makers = {"atom:int": (int, float, complex), "atom:float": (float, complex), "atom:complex": (complex,)}
    for make in makers[kinds[0]]:
        try:
            return make(text)
        except ValueError:
            continue
    return text


def _apply(template: dict, value: Any, nested: dict | None = None) -> Any:
    """`value` (as JSON gave it) with the types of `template`; left as it is wherever the template is ambiguous.

    `nested` is the template of a container that the literals nest in itself (a tuple holding tuples): lists
    deeper than the literals go take its shape too.
    """
    if isinstance(value, list):
        containers = [k for k in ("tuple", "list", "set") if k in template]
        if not containers and "dict" not in template and nested is not None:
            template = nested
            containers = [k for k in ("tuple", "list", "set") if k in template]
        if len(containers) != 1 or "dict" in template:  # e.g. `{}` and `{1, 2}` both written as []
            return value
        kind = containers[0]
        child = template[kind]
        if kind in child:
            nested = child
        items = [_apply(child, x, nested) for x in value]
        if kind == "set":
            try:
                return set(items)
            except TypeError:  # unhashable items: the template does not fit this value
                return items
        return tuple(items) if kind == "tuple" else items
    if isinstance(value, dict) and "dict" in template:
        keys, values = template["dict"]
        return {_apply(keys, k): _apply(values, v) for k, v in value.items()}
    if isinstance(value, str) and "atom:str" not in template:
        numbers = [k for k in NUMBER_ATOMS if k in template]
        if numbers:
            return _parse_number(value, numbers)
    return value


def _jsonish(value: Any) -> Any:
    """What JSON makes of a value (how the released inputs were written)."""
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_jsonish(x) for x in value]
    if isinstance(value, dict):
        return {str(k): _jsonish(v) for k, v in value.items()}
    return value


def restore_input_types(inputs: list[list], assertion: str, entry_point: str) -> tuple[list[list], int]:
    """Inputs with the types their task's literal calls show; returns them and how many inputs changed.

    An input that is exactly a literal call's arguments, as JSON wrote them, becomes those arguments; the others
    get the merged argument templates of all literal calls.
    """
    calls = _literal_calls(assertion, entry_point)
    if not calls or not inputs:
        return inputs, 0
    width = max(len(c) for c in calls)
    templates = [_merge([_template(c[i]) for c in calls if i < len(c)]) for i in range(width)]
    exact = {json.dumps(_jsonish(c), sort_keys=True, default=repr): c for c in calls}
    restored, changed = [], 0
    for args in inputs:
        key = json.dumps(args, sort_keys=True, default=repr)
        new = list(exact[key]) if key in exact else [_apply(templates[i], a) if i < width else a
                                                     for i, a in enumerate(args)]
        if _type_tree(new) != _type_tree(args) or new != args:
            changed += 1
        restored.append(new)
    return restored, changed


def _type_tree(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return (type(value).__name__, [_type_tree(x) for x in value])
    if isinstance(value, dict):
        return ("dict", [(_type_tree(k), _type_tree(v)) for k, v in value.items()])
    return type(value).__name__


# ---------------------------------------------------------------- MBPP+ judged as EvalPlus judges it
#
# Read in EvalPlus v0.3.1 (the release on PyPI; github.com/evalplus/evalplus at tag v0.3.1):
# - evalplus/eval/__init__.py, unsafe_execute: an output passes when it equals the expected one; else, when the
#   task's atol is non-zero, or it is 0 and the expected output is a float or a flat list/tuple of floats (then
#   atol = 1e-6), when it has the expected type (and length) and np.allclose(out, exp, rtol=1e-07, atol) holds.
#   Before that, a few MBPP tasks get their own check (the "special oracles", by entry point):
#   are_equivalent (Mbpp/164) accepts any output; sum_div (Mbpp/295) also 0; surface_Area (Mbpp/581) also
#   EvalPlus's own formula within atol; digit_distance_nums (Mbpp/558) also EvalPlus's zero-padded version;
# - evalplus/eval/_special_oracle.py: MBPP_OUTPUT_SET_EQ_TASKS compare set(out) == set(exp) (Mbpp/2, 7, 111, 140,
#   232, 249, 579, 769); MBPP_OUTPUT_NOT_NONE_TASKS (Mbpp/737, 787, 794, whose solutions return re.Match
#   objects) compare only whether the output is None: the expected value is `reference output is not None`
#   (evalplus/gen/util/__init__.py, trusted_exec with output_not_none), a bool output is compared with it as is;
# - evalplus/config.py: DEFAULT_MIN_TIME_LIMIT = 1.0, DEFAULT_GT_TIME_LIMIT_FACTOR = 4.0; untrusted_check gives
#   input i the limit max(1.0, 4.0 * the reference's time on input i) and the base inputs, then the plus
#   inputs, one process each with min(60 s (EVALPLUS_TIMEOUT_PER_TASK), the sum of their limits) + 1 s, +1 s
#   (fast_check) and +1 s in join. (EvalPlus's main branch has since raised DEFAULT_MIN_TIME_LIMIT to 4.0.)
EVALPLUS_MIN_TIME_LIMIT_S = 1.0
EVALPLUS_TIME_LIMIT_FACTOR = 4.0
EVALPLUS_GROUP_TIMEOUT_S = 60.0
EVALPLUS_GROUP_SLACK_S = 3.0

MBPPPLUS_SET_TASKS = ("similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly", "larg_nnum",
                      "intersection_array", "find_dissimilar", "Diff")
MBPPPLUS_NOT_NONE_TASKS = ("check_str", "text_match_three", "text_starta_endb")
# entry point -> the judge's oracle (sandbox/image/infinicode_runner/oracles.py) for the special cases
MBPPPLUS_ORACLES = {**{name: "evalplus_set" for name in MBPPPLUS_SET_TASKS},
                    **{name: "evalplus_not_none" for name in MBPPPLUS_NOT_NONE_TASKS},
                    "are_equivalent": "any", "sum_div": "evalplus_one_of", "surface_Area": "evalplus_one_of",
                    "digit_distance_nums": "evalplus_one_of"}


def mbppplus_oracle(entry_point: str) -> str:
    return MBPPPLUS_ORACLES.get(entry_point, "evalplus")


def evalplus_time_limit(reference_s: float) -> float:
    return max(EVALPLUS_MIN_TIME_LIMIT_S, EVALPLUS_TIME_LIMIT_FACTOR * reference_s)


def evalplus_job_timeout(limits: list[float], groups: list[str]) -> float:
    """One budget for all inputs: EvalPlus's per-group budgets (base, plus) added up."""
    total = 0.0
    for group in dict.fromkeys(groups):
        total += min(EVALPLUS_GROUP_TIMEOUT_S, sum(t for t, g in zip(limits, groups, strict=True) if g == group))
        total += EVALPLUS_GROUP_SLACK_S
    return total


def _pyramid_surface(base_edge, height):
    """EvalPlus's reading of Mbpp/581: `height` is the pyramid's height, the faces' slant height follows."""
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 2 * base_edge * slant)


def _padded_digit_distance(a, b):
    """EvalPlus's reading of Mbpp/558: the shorter number is padded with leading zeros."""
    left, right = str(a), str(b)
    width = max(len(left), len(right))
    return sum(abs(int(x) - int(y)) for x, y in zip(left.zfill(width), right.zfill(width), strict=True))


# entry point -> other outputs EvalPlus accepts on an input, besides the reference's (computed on the host from
# the task's inputs only: no candidate code)
MBPPPLUS_ALTERNATIVES = {"sum_div": lambda *args: 0, "surface_Area": _pyramid_surface,
                         "digit_distance_nums": _padded_digit_distance}


def _oracle_expected(task, outputs: list) -> list:
    """The expected values the judge's oracle compares with, from the reference's outputs."""
    oracle = task.tests.oracle
    if oracle == "evalplus_not_none":
        return [output is not None for output in outputs]
    if oracle == "evalplus_one_of":
        alternative = MBPPPLUS_ALTERNATIVES[task.tests.entry_point]
        wanted = []
        for args, output in zip(task.tests.inputs, outputs, strict=True):
            try:
                wanted.append([output, alternative(*args)])
            except (ValueError, TypeError, ArithmeticError):  # EvalPlus's check raises too: only the reference passes
                wanted.append([output])
        return wanted
    return list(outputs)


# (task id, number of inputs, reference) -> "base" / "plus" for each input, as the data file groups them
_INPUT_GROUPS: dict[tuple, list[str]] = {}


def _remember_groups(task, base_count: int) -> None:
    n = len(task.tests.inputs)
    _INPUT_GROUPS[(task.task_id, n, task.reference)] = ["base"] * min(base_count, n) + ["plus"] * max(0, n - base_count)


def input_groups(task) -> list[str]:
    """"base" or "plus" for each of an MBPP+ task's inputs (all "base" for a task not loaded from MBPP+ data)."""
    n = len(task.tests.inputs or [])
    return _INPUT_GROUPS.get((task.task_id, n, task.reference), ["base"] * n)


def mbppplus_tasks(records: list[dict], notes: list[dict] | None = None) -> list:
    """MBPP+ tasks with their base and plus inputs; `expected` stays None until `attach_expected` fills it.

    `notes` (when given) receives one entry per task whose inputs got their types back from its literals.
    """
    from agent.spec import Task
    from sandbox import Tests

    tasks = []
    for rec in sorted(records, key=lambda r: int(str(r["task_id"]).split("/")[-1])):
        entry = rec["entry_point"]
        code = rec["canonical_solution"].strip("\n") + "\n"
        inputs, changed = restore_input_types(_mbppplus_inputs(rec), rec.get("assertion", ""), entry)
        if changed and notes is not None:
            notes.append({"task_id": rec["task_id"], "kind": "types_restored",
                          "note": f"{changed} inputs given back the types JSON lost (tuples, sets, complex numbers) "
                                  "from the task's literal calls"})
        task = Task(
            task_id=rec["task_id"],
            name=entry,
            description=mbppplus_description(rec["prompt"]),
            entry_point=entry,
            signature=function_header(code, entry) or f"def {entry}(*args)",
            tests=Tests(kind="io", entry_point=entry, inputs=inputs, expected=None,
                        atol=float(rec.get("atol") or 0.0), oracle=mbppplus_oracle(entry)),
            reference=code,
        )
        base = _json_field(rec.get("base_input"))
        _remember_groups(task, len(base) if isinstance(base, list) else len(inputs))
        tasks.append(task)
    return tasks


# ---------------------------------------------------------------- MBPP+ expected outputs


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
    _remember_groups(task, groups.count("base"))
    task.tests.expected = _oracle_expected(task, decode_value(entry["expected"]))
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
