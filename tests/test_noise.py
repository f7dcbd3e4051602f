"""The median's interval: its coverage as claimed, checked by simulation and by the binomial law."""

import numpy as np
import pytest
from scipy.stats import binom

from harness.stats import noise


@pytest.mark.parametrize("n", [3, 5, 7, 11, 21])
def test_the_claimed_coverage_is_the_binomial_one_and_the_widest_that_reaches_95(n):
    interval = noise.median_interval(np.arange(n, dtype=float))
    k = int(interval.lo_s) + 1  # the k-th smallest
    assert interval.hi_s == n - k  # and the k-th largest
    assert interval.coverage == pytest.approx(1 - 2 * binom.cdf(k - 1, n, 0.5), rel=1e-12)
    narrower = 1 - 2 * binom.cdf(k, n, 0.5)
    assert k == 1 or interval.coverage >= noise.CONFIDENCE
    assert narrower < noise.CONFIDENCE or k == (n + 1) // 2


@pytest.mark.parametrize("n", [5, 11])
def test_the_interval_holds_the_true_median_as_often_as_it_claims(n):
    # a skewed, shifted distribution of known median, like a loaded machine's timings
    rng = np.random.default_rng(0)
    draws = 1e-3 * (1 + rng.lognormal(0.0, 0.5, size=(20_000, n)))
    true_median = 1e-3 * 2.0  # lognormal(0, σ) has median 1
    held = [iv.lo_s <= true_median <= iv.hi_s for iv in map(noise.median_interval, draws)]
    assert np.mean(held) == pytest.approx(noise.median_interval(draws[0]).coverage, abs=0.01)
    # a checker that cannot fail is worthless: the next-narrower pair is far off that coverage
    k = int(noise.median_interval(np.arange(n, dtype=float)).lo_s) + 1
    s = np.sort(draws, axis=1)
    inner = np.mean((s[:, k] <= true_median) & (true_median <= s[:, n - k - 1]))  # the (k+1)-th pair
    assert abs(inner - noise.median_interval(draws[0]).coverage) > 0.05


def test_noisy_is_a_width_above_the_threshold():
    quiet = noise.median_interval([1.00, 1.01, 1.02, 1.01, 1.00])
    loud = noise.median_interval([1.0, 1.0, 1.0, 1.0, 1.5])
    assert not noise.is_noisy(quiet.noise(1.01)) and noise.is_noisy(loud.noise(1.0))
    assert noise.median_interval([]) is None
