"""The timing loop: structure, not speed (timed assertions would be flaky)."""

import time

import pytest

from harness import timing
from harness.timing import Timing, measure, measure_interleaved, paired_ratio


def test_measure_calls_enough_and_reports_the_median():
    calls = []
    t = measure(lambda: calls.append(1), repeats=5, min_batch_s=0.01)
    assert t.repeats == 5 and len(t.samples_s) == 5
    assert len(calls) >= t.number * t.repeats  # calibration calls come on top
    assert min(t.samples_s) <= t.median_s <= max(t.samples_s)
    assert t.iqr_s >= 0


def test_measure_is_per_call():
    # a 50-ms target: a 2-ms sleep batches up even when a busy machine stretches its first call
    t = measure(lambda: time.sleep(0.002), repeats=3, min_batch_s=0.05)
    assert t.number >= 2  # batched to reach the target
    assert t.median_s >= 0.002  # sleep guarantees a lower bound, per call


@pytest.mark.parametrize("repeats", [5, 7])
def test_repeats(repeats):
    assert measure(lambda: None, repeats=repeats, min_batch_s=0.001).repeats == repeats


def test_interleaved_calls_alternate_batch_by_batch():
    order = []
    lead, other = measure_interleaved([lambda: order.append("a"), lambda: order.append("b")],
                                      repeats=4, min_batch_s=0.002, shares=(1.0, 0.5))
    assert lead.repeats == other.repeats == 4
    # round 1 is each call's last calibration batch; then each round is a batch of a, then of b
    timed = order[len(order) - 3 * (lead.number + other.number):]
    assert timed == (["a"] * lead.number + ["b"] * other.number) * 3


def test_interleaved_ratio_is_taken_round_by_round():
    # a burst of load that doubles both calls in one round moves the medians' ratio, not the rounds'
    a = Timing(0.0, 0.0, 1, 3, [2.0, 4.0, 8.0])
    b = Timing(0.0, 0.0, 1, 3, [1.0, 2.0, 4.0])
    assert paired_ratio(a, b) == 2.0


def test_a_long_lead_call_counts_its_calibration_and_takes_fewer_rounds(monkeypatch):
    monkeypatch.setattr(timing, "LONG_CALL_S", 0.005)
    calls = []
    lead, other = measure_interleaved([lambda: (calls.append(1), time.sleep(0.006)), lambda: None],
                                      repeats=5, min_batch_s=0.001)
    assert lead.number == 1 and lead.repeats == other.repeats == timing.LONG_REPEATS
    assert len(calls) == timing.LONG_REPEATS  # the calibration run was round 1's batch
