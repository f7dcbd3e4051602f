"""Persistent steps: a level that moved and stayed is found where it happened, and nothing else."""

import numpy as np
import pytest

from harness.stats.steps import find_steps


def test_a_step_that_stays_is_found_at_its_first_run():
    steps = find_steps([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], 0.10)
    assert [(s.at, s.ratio) for s in steps] == [(3, 2.0)]


@pytest.mark.parametrize("series", [
    [1.0] * 6,
    [1.0, 1.0, 3.0, 1.0, 1.0, 1.0],  # one bad night
    [1.0, 1.0, 1.0, 1.0, 1.0, 2.0],  # the last night alone: not yet a step
    [1.0, 1.0, 1.0, 1.05, 1.05, 1.05],  # a step within the threshold
])
def test_no_step_where_none_persists_beyond_the_threshold(series):
    assert find_steps(series, 0.10) == []


def test_steps_in_noise_and_gaps():
    rng = np.random.default_rng(0)
    level = np.r_[np.full(8, 1e-5), np.full(8, 1.5e-5), np.full(8, 1e-5)]
    noisy = level * np.exp(rng.normal(0, 0.03, level.size))
    noisy[5] = np.nan  # a night the cell was not measured
    steps = find_steps(noisy, 0.10)
    assert [s.at for s in steps] == [8, 16]
    assert steps[0].ratio == pytest.approx(1.5, rel=0.05)
    assert steps[1].ratio == pytest.approx(1 / 1.5, rel=0.05)
