"""MBPP+ as infinicode runs it: its base and plus inputs with their Python types back, judged as EvalPlus v0.3.1
judges them. The expected outputs are computed in the sandbox by `benchmarks/mbppplus_expected.py`.
"""

from __future__ import annotations

import ast
import json
import math
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


def oracle_expected(task, outputs: list) -> list:
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


def remember_groups(task, base_count: int) -> None:
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
        remember_groups(task, len(base) if isinstance(base, list) else len(inputs))
        tasks.append(task)
    return tasks
