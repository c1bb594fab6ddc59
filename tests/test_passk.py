"""Unbiased pass@k against values computed by hand and from exact binomials."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest

from benchmarks.passk import mean_pass_at_k, pass_at_k, pass_at_ks


def exact(n: int, c: int, k: int) -> Fraction:
    """1 - C(n-c, k) / C(n, k) in exact arithmetic (C(m, k) = 0 when m < k)."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


@pytest.mark.parametrize("n, c, k, expected", [
    (10, 0, 1, 0.0),                # nothing passes
    (10, 10, 1, 1.0),               # everything passes
    (10, 3, 1, 0.3),                # pass@1 is the pass rate c/n
    (10, 3, 5, 1 - 21 / 252),       # 1 - C(7,5)/C(10,5)
    (5, 2, 5, 1.0),                 # n - c < k: every draw of 5 holds a passing sample
    (4, 1, 2, 0.5),                 # 1 - C(3,2)/C(4,2) = 1 - 3/6
    (1, 1, 1, 1.0),
    (1, 0, 1, 0.0),
])
def test_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_matches_exact_binomials_on_every_small_case():
    for n in range(1, 21):
        for c, k in itertools.product(range(n + 1), range(1, n + 1)):
            assert pass_at_k(n, c, k) == pytest.approx(float(exact(n, c, k)), abs=1e-12), (n, c, k)


def test_stays_finite_where_binomials_overflow_floats():
    # C(2000, 1000) ~ 2e600 overflows a float; the product form does not. One passing sample out of 2000,
    # drawing half of them: exactly one half of the draws contain it.
    assert pass_at_k(2000, 1, 1000) == pytest.approx(0.5, abs=1e-12)
    assert pass_at_k(5000, 7, 100) == pytest.approx(float(exact(5000, 7, 100)), rel=1e-9)


@pytest.mark.parametrize("n, c, k", [(0, 0, 1), (5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_rejects_undefined_arguments(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_over_tasks_and_which_k_are_reported():
    counts = [(10, 0), (10, 5), (6, 6)]
    assert mean_pass_at_k(counts, 1) == pytest.approx((0 + 0.5 + 1) / 3)
    # k = 10 needs n >= 10 on every task: the 6-sample task allows only 1 and 5
    assert sorted(pass_at_ks(counts)) == [1, 5]
    assert pass_at_ks(counts)[5] == pytest.approx((0 + float(exact(10, 5, 5)) + 1) / 3)
    assert sorted(pass_at_ks([(10, 1), (12, 0)])) == [1, 5, 10]
    assert pass_at_ks([]) == {}
    with pytest.raises(ValueError):
        mean_pass_at_k([], 1)
