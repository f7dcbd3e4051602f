"""The timing loop: structure, not speed (timed assertions would be flaky)."""

import time

import pytest

from harness.errors import UsageError
from harness.measure import timing
from harness.measure.timing import (
    LoopSettings,
    Timing,
    TimingSettings,
    measure,
    measure_interleaved,
    paired_ratio,
)


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


def test_the_batches_are_shared_among_the_passes():
    loop = TimingSettings().loop()  # 5 batches, 2 passes
    assert (loop.repeats, loop.long_repeats, loop.min_batch_s) == (3, 2, timing.MIN_BATCH_S)
    assert TimingSettings(repeats=3, min_batch_s=0.002, passes=1).loop() == LoopSettings(3, 0.002, 3)
    assert TimingSettings(repeats=7, passes=3).loop().repeats == 3
    assert TimingSettings(repeats=1, passes=2).loop().repeats == 1  # never more than asked


def test_timing_settings_are_read_once_and_checked():
    assert TimingSettings.of(None) == TimingSettings() == timing.DEFAULT
    assert TimingSettings.of({"repeats": 3}) == TimingSettings(repeats=3)
    assert TimingSettings.of(timing.UNTIMED) is timing.UNTIMED and not timing.UNTIMED.timed
    assert TimingSettings.of(TimingSettings().to_dict()) == TimingSettings()
    for bad, says in [({"repeat": 3}, "unknown timing setting 'repeat'"), ({"repeats": -1}, "≥ 0"),
                      ({"passes": 0}, "passes ≥ 1"), ({"repeats": 2.5}, "whole numbers"),
                      ({"min_batch_s": "fast"}, "min_batch_s"), ([3], "a mapping")]:
        with pytest.raises(UsageError, match=says):
            TimingSettings.of(bad)


def test_pooled_passes_give_the_lower_median_and_every_sample_in_order():
    burst = Timing(3.1, 0.1, 10, 3, [3.0, 3.1, 3.2])  # a pass the machine slowed
    quiet = Timing(2.0, 0.1, 12, 3, [2.1, 2.0, 1.9])
    both = timing.pooled([burst, quiet])
    assert both.median_s == 2.0 and both.pass_medians_s == [3.1, 2.0]
    assert both.samples_s == [3.0, 3.1, 3.2, 2.1, 2.0, 1.9] and both.repeats == 6
    assert timing.pooled([both, Timing(2.5, 0.0, 1, 1, [2.5])]).pass_medians_s == [3.1, 2.0, 2.5]


def test_a_cell_too_costly_to_time_again_gets_one_pass_with_every_batch():
    default = TimingSettings()
    assert default.passes_for(0.01, 0.005) == 2  # its setup again and 4 rounds: 0.03 s
    assert default.passes_for(0.09, 0.005) == 1  # 0.11 s > LATER_PASS_MAX_S
    assert TimingSettings(passes=1).passes_for(0.0, 0.0) == 1
    assert default.loop(1).repeats == timing.REPEATS
    # the cap is injectable: a test of the pooling must not depend on the machine's speed
    assert TimingSettings(later_pass_max_s=float("inf")).passes_for(10.0, 1.0) == 2
    assert TimingSettings(later_pass_max_s=0.0).passes_for(0.0, 1e-9) == 1


def test_the_rounds_are_chosen_once_calibrated():
    seen = []

    def rounds(round_s):
        seen.append(round_s)
        return LoopSettings(repeats=4, min_batch_s=0.002, long_repeats=4)

    lead, other = measure_interleaved([lambda: None, lambda: None], repeats=2, min_batch_s=0.002,
                                      rounds=rounds)
    assert lead.repeats == other.repeats == 4
    assert len(seen) == 1 and seen[0] >= 2 * 0.002  # a batch of each call, each of at least its target
