"""How sure a cell's median time is: an interval from its batches, and a flag when it is wide.

A cell's timing loop gives a handful of per-call times, one per batch (``eval_samples_s``).
Their median is the figure reported; how far it could be off follows from order statistics,
with no assumption about the distribution (a shared machine's is skewed and often
bimodal): for n sorted samples, the k-th smallest and k-th largest bracket the true median
with probability 1 − 2·P(B ≤ k − 1), B ~ Binomial(n, ½).  The widest pair that reaches
``CONFIDENCE`` is taken; with 5 batches none reaches 95 % but the extremes, which cover it
with 1 − 2/2⁵ = 93.75 %, and that is what ``coverage`` says.

``noise`` is the interval's width over the median; a cell is ``noisy`` above :data:`NOISY`
(an interval wider than ±10 % around its median: as wide as a regression the comparison is
meant to find).  The runner records both; the comparison and the report read them.
Only the standard library and NumPy are imported: the reading side uses this module too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
NOISY = 0.20


@dataclass(frozen=True)
class Interval:
    lo_s: float
    hi_s: float
    coverage: float  # the probability that [lo_s, hi_s] holds the true median

    def noise(self, median_s: float) -> float:
        """The interval's width over the median (NaN for a median of 0)."""
        return (self.hi_s - self.lo_s) / median_s if median_s > 0 else math.nan


def _coverage(n: int, k: int) -> float:
    """P(x₍ₖ₎ ≤ median ≤ x₍ₙ₋ₖ₊₁₎) for n samples of a continuous distribution."""
    tail = sum(math.comb(n, j) for j in range(k)) / 2**n
    return 1 - 2 * tail


def median_interval(samples, confidence: float = CONFIDENCE) -> Interval | None:
    """The order-statistic interval of the median of ``samples`` (None without any)."""
    x = np.sort(np.asarray(samples, dtype=float))
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return None
    k = 1
    while k + 1 <= (n + 1) // 2 and _coverage(n, k + 1) >= confidence:
        k += 1  # a narrower pair that still reaches the confidence
    return Interval(float(x[k - 1]), float(x[n - k]), _coverage(n, k))


def is_noisy(noise: float) -> bool:
    return bool(noise > NOISY)


@dataclass(frozen=True)
class PairedRatio:
    """One method's time over another's, round by round: the median of the rounds' ratios, its
    order-statistic interval (:func:`median_interval`) and how many rounds both were timed in."""

    ratio: float
    lo: float
    hi: float
    coverage: float
    rounds: int


def paired_ratio(a_samples, b_samples, a_rounds=None, b_rounds=None) -> PairedRatio | None:
    """``a`` over ``b`` in the rounds both were timed in: their batches matched by round id
    (``a_rounds``, ``b_rounds``: each sample's round, as ``eval_round_ids`` records it), or by
    position where no ids are given; None without a round in common."""
    a = np.asarray(a_samples, dtype=float)
    b = np.asarray(b_samples, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero time: no ratio that round
        if a_rounds is None or b_rounds is None:
            n = min(len(a), len(b))
            ratios = a[:n] / b[:n]
        else:
            of_b = {int(r): v for r, v in zip(b_rounds, b)}
            ratios = np.array([v / of_b[int(r)] if of_b[int(r)] else np.inf
                               for r, v in zip(a_rounds, a) if int(r) in of_b])
    ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
    if not len(ratios):
        return None
    interval = median_interval(ratios)
    return PairedRatio(float(np.median(ratios)), interval.lo_s, interval.hi_s, interval.coverage, len(ratios))
