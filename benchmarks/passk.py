"""Unbiased pass@k (Chen et al. 2021, "Evaluating Large Language Models Trained on Code").

For one task with n samples of which c pass, the probability that at least one of k samples drawn without
replacement passes is

    pass@k = 1 - C(n - c, k) / C(n, k)

The binomials overflow floats for large n, so the ratio is computed as a product of k factors:

    C(n - c, k) / C(n, k) = prod_{i = n - c + 1}^{n} (1 - k / i)

which stays within [0, 1] at every step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

STANDARD_KS = (1, 5, 10)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one task with `n` samples, `c` of them correct."""
    if n < 1 or k < 1:
        raise ValueError(f"pass@k needs n >= 1 and k >= 1 (got n={n}, k={k})")
    if not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n (got n={n}, c={c})")
    if k > n:
        raise ValueError(f"pass@{k} is undefined with only {n} samples per task")
    if n - c < k:
        # every draw of k samples contains a correct one
        return 1.0
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """pass@k averaged over tasks; `counts` holds one (n, c) pair per task."""
    values = [pass_at_k(n, c, k) for n, c in counts]
    if not values:
        raise ValueError("pass@k over no tasks is undefined")
    return sum(values) / len(values)


def pass_at_ks(counts: Sequence[tuple[int, int]], ks: Iterable[int] = STANDARD_KS) -> dict[int, float]:
    """pass@k for each k that every task's sample count allows (k <= min n); empty when there are no tasks."""
    if not counts:
        return {}
    smallest_n = min(n for n, _ in counts)
    return {k: mean_pass_at_k(counts, k) for k in ks if k <= smallest_n}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], reps: int = 10_000,
                     seed: int = 0) -> tuple[float, float, float]:
    """The mean over tasks of a - b (per-task scores of two arms on the same tasks) and its 95% percentile
    bootstrap interval: tasks are resampled with replacement, each keeping its pair."""
    import random

    diffs = [x - y for x, y in zip(a, b, strict=True)]
    if not diffs:
        raise ValueError("a paired bootstrap needs at least one task")
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=len(diffs))) / len(diffs) for _ in range(reps))
    return sum(diffs) / len(diffs), means[int(0.025 * reps)], means[int(0.975 * reps) - 1]
