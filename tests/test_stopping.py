"""Where a model's answer is complete (agent/stopping.py): answers as small models write them."""

from __future__ import annotations

import pytest

from agent.extract import PROGRAM, extract_code
from agent.stopping import answer_end, cut_answer

FENCED = "```python\ndef add(a, b):\n    return a + b\n```\n"
AFTER = "\nExample usage:\n```python\nprint(add(1, 2))\n```\n"


def test_a_closed_fence_that_defines_the_function_ends_the_answer():
    assert answer_end(FENCED + AFTER, "add") == len(FENCED)
    assert answer_end(FENCED, "add") == len(FENCED)


def test_prose_before_the_block_and_an_unrelated_block_first_do_not_end_it():
    intro = "Here's an example of the input:\n```python\nx = [1, 2]\n```\nAnd the function:\n"
    text = intro + FENCED + AFTER
    assert answer_end(text, "add") == len(intro + FENCED)


def test_an_open_block_is_not_complete_and_a_partial_line_decides_nothing():
    assert answer_end("```python\ndef add(a, b):\n    return a + b\n", "add") is None
    assert answer_end("```python\ndef add(a, b):\n    return a + b\n``", "add") is None


def test_usage_code_after_the_function_ends_the_answer_at_its_line():
    head = "def add(a, b):\n    return a + b\n\n"
    for usage in ("print(add(1, 2))\n", "assert add(1, 2) == 3\n", "if __name__ == '__main__':\n",
                  ">>> add(1, 2)\n", "# Test the function\n", "# Example usage\n"):
        assert answer_end(head + usage + "more\n", "add") == len(head), usage


def test_indented_usage_and_helpers_after_the_function_are_kept():
    text = ("def add(a, b):\n    assert isinstance(a, int)\n    print('adding')\n    return helper(a) + b\n\n"
            "def helper(x):\n    return x\n")
    assert answer_end(text, "add") is None


def test_prints_before_the_function_and_whole_programs_are_not_usage():
    assert answer_end("print('hi')\ndef add(a, b):\n    return a + b\n", "add") is None
    program = "n = int(input())\nprint(n * 2)\nif __name__ == '__main__':\n    pass\n"
    assert answer_end(program, PROGRAM) is None
    assert answer_end("```python\n" + program + "```\nThis reads n.\n", PROGRAM) == len("```python\n" + program
                                                                                        + "```\n")


def test_a_continued_prefix_counts_its_open_fence_and_its_def():
    prefix = "```python\ndef add(a, b):\n"
    assert answer_end("    return a + b\n```\nThat is all.\n", "add", prefix=prefix) == len("    return a + b\n```\n")


@pytest.mark.parametrize("target", ["Stack", ["Stack", "helper"]])
def test_classes_and_several_names_use_the_main_name(target):
    text = "```python\nclass Stack:\n    def push(self, x):\n        pass\n```\nstack = Stack()\n"
    assert answer_end(text, target) == len(text) - len("stack = Stack()\n")


def test_cutting_keeps_what_extraction_would_keep():
    text = FENCED + AFTER
    cut, was_cut = cut_answer(text, lambda t: answer_end(t, "add"))
    assert was_cut and cut == FENCED
    assert extract_code(cut, "add") == extract_code(text, "add")
    assert cut_answer(text, None) == (text, False)


REPEAT = ("def add(a, b):\n    return a + b\n\n\ndef helper(x):\n    return x\n\n\n"
          "def add(a, b):\n    return a - b\n\n\ndef later(y):\n    return y\n")


@pytest.mark.parametrize("prefix", ["", "```python\n"])
def test_the_entry_point_written_again_ends_the_answer_at_its_restart(prefix):
    end = answer_end(REPEAT, "add", prefix)
    assert REPEAT[:end].endswith("return x\n\n\n") and REPEAT[end:].startswith("def add")
    # extraction keeps the first definition and its helper, and drops the restart with all after it
    assert extract_code(REPEAT[:end], "add") == extract_code(REPEAT, "add")
    assert "a - b" not in extract_code(REPEAT, "add") and "later" not in extract_code(REPEAT, "add")


def test_a_restart_after_an_unfinished_first_definition_or_an_indented_one_does_not_end_it():
    assert answer_end("def add(a, b):\ndef add(a, b):\n    return a + b\n", "add") is None
    methods = "class A:\n    def add(self):\n        return 1\n    def add(self):\n        pass\n"
    assert answer_end(methods, "add") is None
    # a continued signature counts as the first definition
    body = "    return a + b\n\n"
    assert answer_end(body + "def add(a, b):\n", "add", prefix="def add(a, b):\n") == len(body)
