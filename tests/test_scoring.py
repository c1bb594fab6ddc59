"""Scoring: code tokens, BLEU, the tree-sitter syntax check, and the ranking rule on real sandbox verdicts."""

from __future__ import annotations

import pytest

from agent.scoring import Score, bleu, check_syntax, code_tokens, rank, score_candidate
from sandbox import Job
from sandbox import Tests as SandboxTests

ADD_TESTS = SandboxTests(kind="asserts", asserts=["assert add(1, 2) == 3", "assert add(-4, 4) == 0",
                                           "assert add(0, 0) == 0", "assert add(5, 5) == 10"])
REFERENCE = "def add(a, b):\n    return a + b\n"


def test_code_tokens_keep_strings_whole_and_drop_comments():
    code = 'def f(a, b=1.5e3):  # note\n    s = f"x {a}" + \'it is\' ** 2 // 3\n    return a >= b and s != "" or 0x1F\n'
    assert code_tokens(code) == ["def", "f", "(", "a", ",", "b", "=", "1.5e3", ")", ":",
                                 "s", "=", 'f"x {a}"', "+", "'it is'", "**", "2", "//", "3",
                                 "return", "a", ">=", "b", "and", "s", "!=", '""', "or", "0x1F"]
    assert code_tokens('x = """a\nb"""  # c') == ["x", "=", '"""a\nb"""']
    assert code_tokens("y := x->z ...") == ["y", ":=", "x", "->", "z", "..."]


def test_bleu_is_code_aware():
    assert bleu(REFERENCE, REFERENCE) == pytest.approx(100.0)
    # formatting and comments do not count
    assert bleu("def add(a,b):  # sum\n  return a+b", REFERENCE) == pytest.approx(100.0)
    renamed = bleu("def add(x, y):\n    return x + y\n", REFERENCE)
    assert 0.0 < renamed < 100.0
    # a string literal with spaces is one token: changing one word inside it changes one token, not a run
    ref = 'def greet():\n    return "hello big wide world"\n'
    assert bleu(ref, ref) == pytest.approx(100.0)
    assert bleu('def greet():\n    return "hello big wide planet"\n', ref) < 100.0
    assert bleu("", REFERENCE) == 0.0


def test_syntax_check_accepts_valid_code():
    report = check_syntax(REFERENCE)
    assert report.valid and report.errors == [] and report.message == ""


@pytest.mark.parametrize("code,position,words", [
    ("def add(a, b)\n    return a + b\n", (1, 14), "expected ':'"),
    ("def add(a, b):\n    return (a + b\n", (2, 12), "never closed"),
    ("def add(a, b:\n    return a + b\n", (1, 8), "never closed"),
    ("def add(a, b):\nreturn a + b\n", (2, 1), "indented block"),
    ('print "hi"\n', (1, 1), "print"),  # tree-sitter accepts Python 2 print; CPython does not
])
def test_syntax_errors_have_one_based_positions(code, position, words):
    report = check_syntax(code)
    assert not report.valid
    assert position in report.errors, report
    assert words in report.message
    assert all(line >= 1 and col >= 1 for line, col in report.errors)


def test_syntax_positions_count_characters_not_bytes():
    report = check_syntax('s = "ééé" + (\n')
    assert (1, 13) in report.errors  # the "(" is character 13 (byte 16)


def _score(passed, total, valid=True, bleu_=None, length=10, status=None):
    return Score(passed=passed, total=total, status=status or ("passed" if passed == total else "failed"),
                 syntax_valid=valid, syntax_errors=[] if valid else [(1, 1)], bleu=bleu_, length=length)


def test_ranking_rule_order():
    more_tests_bad_syntax_low_bleu = _score(3, 4, valid=False, bleu_=1.0, length=99)
    fewer_tests = _score(2, 4, valid=True, bleu_=99.0, length=1)
    assert rank([fewer_tests, more_tests_bad_syntax_low_bleu]) == [more_tests_bad_syntax_low_bleu, fewer_tests]

    valid_low_bleu = _score(0, 4, valid=True, bleu_=5.0)
    invalid_high_bleu = _score(0, 4, valid=False, bleu_=95.0)
    assert rank([invalid_high_bleu, valid_low_bleu]) == [valid_low_bleu, invalid_high_bleu]

    high_bleu_long = _score(1, 4, bleu_=80.0, length=500)
    low_bleu_short = _score(1, 4, bleu_=20.0, length=5)
    assert rank([low_bleu_short, high_bleu_long]) == [high_bleu_long, low_bleu_short]

    short, long = _score(1, 4, length=5), _score(1, 4, length=50)
    assert rank([long, short]) == [short, long]

    first, second = _score(1, 4), _score(1, 4)
    assert rank([first, second])[0] is first  # full ties keep their order


def test_bleu_never_outranks_tests_on_real_verdicts(sandbox):
    looks_right = "def add(a, b):\n    return a - b\n"  # one character from the reference, wrong
    works = "def add(first, second):\n    total = sum([first, second])\n    return total\n"
    broken = "def add(a, b)\n    return a + b\n"  # nearly the reference, does not parse
    results = sandbox.run([Job(code, ADD_TESTS) for code in (looks_right, works, broken)])
    scores = {name: score_candidate(code, r, REFERENCE) for name, code, r in
              zip(("looks_right", "works", "broken"), (looks_right, works, broken), results, strict=True)}
    assert scores["looks_right"].bleu > scores["works"].bleu
    assert scores["broken"].bleu > scores["works"].bleu
    assert scores["works"].solved and (scores["works"].passed, scores["works"].total) == (4, 4)
    assert (scores["looks_right"].passed, scores["looks_right"].status) == (1, "failed")
    assert not scores["broken"].syntax_valid and scores["broken"].passed == 0
    order = rank(list(scores), score_of=scores.get)
    assert order == ["works", "looks_right", "broken"]


def test_score_round_trips_through_dict(sandbox):
    result = sandbox.run([Job("def add(a, b)\n    return a + b\n", ADD_TESTS)])[0]
    score = score_candidate("def add(a, b)\n    return a + b\n", result.to_dict(), REFERENCE)
    assert Score.from_dict(score.to_dict()) == score
    assert score.length == len(code_tokens("def add(a, b)\n    return a + b\n"))
    assert "syntax errors at 1:14" in score.summary()
