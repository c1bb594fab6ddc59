"""The judge's output comparisons for MBPP+, as EvalPlus v0.3.1 makes them (pure Python: imported on the host, no
candidate code runs), and the host side that picks an oracle and a time limit for each task and input."""

from __future__ import annotations

import math

from benchmarks.mbppplus import MBPPPLUS_ALTERNATIVES, evalplus_job_timeout, evalplus_time_limit, input_groups
from benchmarks.suites import load_suite
from sandbox.image.infinicode_runner.codec import Opaque
from sandbox.image.infinicode_runner.oracles import output_matches


def evalplus(got, want, atol=0.0):
    return output_matches(got, want, atol, "evalplus")


def test_evalplus_equal_or_allclose_with_the_same_type():
    assert evalplus([1, 2], [1, 2]) and evalplus("ab", "ab") and evalplus({1: 2}, {1: 2})
    assert not evalplus([1, 2], [2, 1]) and not evalplus((1, 2), [1, 2])
    # atol 0 and a float expected: EvalPlus enforces atol 1e-6, plus rtol 1e-7 of the expected value
    assert evalplus(0.1 + 0.2, 0.3) and evalplus([1.0000001, 2.0], [1.0, 2.0])
    assert not evalplus(0.30001, 0.3)
    assert evalplus(1e12 + 5e4, 1e12)  # within rtol * |expected| = 1e5; the default "eq" oracle says no
    assert not output_matches(1e12 + 5e4, 1e12, 0.0, "eq")
    # the second chance needs the same type: 3 == 3.0 is equal, 3 is not close to 3.0000001
    assert evalplus(3, 3.0) and not evalplus(3, 3.0000001)
    # only flat lists of floats get the enforced atol (EvalPlus's is_floats); nested ones must be equal
    assert not evalplus([[1.0000001]], [[1.0]])
    assert output_matches([[1.0000001]], [[1.0]], 0.0, "eq")
    # a task's own atol applies to nested lists too, through np.allclose
    assert evalplus([[1.00005, 2.0]], [[1.0, 2.0]], atol=1e-4) and not evalplus([[1.001]], [[1.0]], atol=1e-4)
    assert not evalplus([1.0, 2.0], [1.0, 2.0, 3.0], atol=1e-4)
    assert not evalplus(math.nan, math.nan) and evalplus(math.inf, math.inf) and not evalplus(math.inf, 1e308)
    assert not evalplus(Opaque("Match", "<re.Match>"), Opaque("Match", "<re.Match>"))


def test_evalplus_set_ignores_order_and_repeats():
    oracle = "evalplus_set"
    assert output_matches((5, 4), (4, 5), 0.0, oracle)
    assert output_matches([4, 5, 5], (4, 5), 0.0, oracle)  # set(out) == set(exp), types and repeats aside
    assert output_matches({"a", "b"}, ["b", "a"], 0.0, oracle)
    assert not output_matches((4,), (4, 5), 0.0, oracle)
    assert not output_matches([[1], [2]], [[1], [2]], 0.0, oracle)  # unhashable items: set() raises in EvalPlus
    assert not output_matches("45", (4, 5), 0.0, oracle) and not output_matches(None, (), 0.0, oracle)


def test_evalplus_not_none_compares_noneness_with_the_reference():
    oracle = "evalplus_not_none"  # `want`: the reference returned something other than None
    match = Opaque("Match", "<re.Match object; span=(0, 5), match='annie'>")
    assert output_matches(match, True, 0.0, oracle) and output_matches("annie", True, 0.0, oracle)
    assert output_matches(None, False, 0.0, oracle) and not output_matches(None, True, 0.0, oracle)
    assert not output_matches(match, False, 0.0, oracle)
    # a bool output is compared with the expected bool as it is
    assert output_matches(True, True, 0.0, oracle) and output_matches(False, False, 0.0, oracle)
    assert not output_matches(False, True, 0.0, oracle)
    assert not output_matches(0, False, 0.0, oracle)  # 0 is not None


def test_evalplus_one_of_and_any():
    oracle = "evalplus_one_of"  # `want`: [the reference's output, EvalPlus's other accepted outputs]
    assert output_matches(15.0, [15.0, 0], 0.0, oracle) and output_matches(0, [15.0, 0], 0.0, oracle)
    assert not output_matches(7, [15.0, 0], 0.0, oracle)
    assert output_matches(15, [15.0], 0.0, oracle)
    assert output_matches(35, [33, 35], 0.0, oracle) and not output_matches(34, [33, 35], 0.0, oracle)
    assert output_matches(object(), None, 0.0, "any") and output_matches(None, True, 0.0, "any")


def test_evalplus_own_formulas():
    # Mbpp/581: EvalPlus takes `height` as the pyramid's height: 9 + 2 * 3 * sqrt(1.5**2 + 4**2) = 34.6 -> 35
    assert MBPPPLUS_ALTERNATIVES["surface_Area"](3, 4) == 35
    # Mbpp/558: the shorter number is padded with zeros: 12345 vs 00009
    assert MBPPPLUS_ALTERNATIVES["digit_distance_nums"](12345, 9) == 1 + 2 + 3 + 4 + 4
    assert MBPPPLUS_ALTERNATIVES["sum_div"](8) == 0


def test_time_limits_follow_evalplus_defaults():
    assert evalplus_time_limit(0.0001) == 1.0  # DEFAULT_MIN_TIME_LIMIT
    assert evalplus_time_limit(0.5) == 2.0  # DEFAULT_GT_TIME_LIMIT_FACTOR x the reference's time
    # base and plus each get min(60 s, the sum of their limits) plus EvalPlus's slack
    assert evalplus_job_timeout([1.0] * 3 + [1.0] * 100, ["base"] * 3 + ["plus"] * 100) == 3 + 3 + 60 + 3


def test_mbppplus_tasks_carry_evalplus_oracles(datasets):
    tasks = {t.task_id: t for t in load_suite("mbppplus", datasets).tasks}
    oracles = {tid: t.tests.oracle for tid, t in tasks.items() if t.tests.oracle != "evalplus"}
    assert oracles == {
        **{tid: "evalplus_set" for tid in ("Mbpp/2", "Mbpp/7", "Mbpp/111", "Mbpp/140", "Mbpp/232", "Mbpp/249",
                                           "Mbpp/579", "Mbpp/769")},
        **{tid: "evalplus_not_none" for tid in ("Mbpp/737", "Mbpp/787", "Mbpp/794")},
        "Mbpp/164": "any", "Mbpp/295": "evalplus_one_of", "Mbpp/558": "evalplus_one_of",
        "Mbpp/581": "evalplus_one_of"}
    groups = input_groups(tasks["Mbpp/3"])
    assert groups[:5] == ["base"] * 5 and set(groups[5:]) == {"plus"}
    assert len(groups) == len(tasks["Mbpp/3"].tests.inputs)
