"""The timing loop: structure, not speed (timed assertions would be flaky)."""

import time

import pytest

from harness.timing import measure


def test_measure_calls_enough_and_reports_the_median():
    calls = []
    t = measure(lambda: calls.append(1), repeats=5, min_batch_s=0.01)
    assert t.repeats == 5 and len(t.samples_s) == 5
    assert len(calls) >= t.number * t.repeats  # calibration calls come on top
    assert min(t.samples_s) <= t.median_s <= max(t.samples_s)
    assert t.iqr_s >= 0


def test_measure_is_per_call():
    t = measure(lambda: time.sleep(0.002), repeats=5, min_batch_s=0.01)
    assert t.number >= 2  # batched to reach the target
    assert t.median_s >= 0.002  # sleep guarantees a lower bound, per call


@pytest.mark.parametrize("repeats", [5, 7])
def test_repeats(repeats):
    assert measure(lambda: None, repeats=repeats, min_batch_s=0.001).repeats == repeats
