"""The timing of prepared calls: structure, not speed (timed assertions would be flaky)."""

import time

import pytest

from harness.errors import UsageError
from harness.measure import timing
from harness.measure.timing import Batches, TimingSettings, calibrate, measure, timing_of


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


class _Timer:
    """A timeit.Timer whose every call takes ``per_call_s``: calibration without a clock."""

    def __init__(self, per_call_s):
        self.per_call_s, self.asked = per_call_s, []

    def timeit(self, number):
        self.asked.append(number)
        return number * self.per_call_s


def test_calibration_aims_straight_for_the_target():
    timer = _Timer(1e-4)
    assert calibrate(timer, 0.005) == (60, pytest.approx(0.006))  # 1 call: 0.1 ms; then 0.005/1e-4 · 1.2
    assert timer.asked == [1, 60]
    slow = _Timer(0.06)
    assert calibrate(slow, 0.005) == (1, 0.06) and slow.asked == [1]  # one call of ten targets is enough
    steady = _Timer(0.01)  # one call reaches the target: timed once more, and is one call
    assert calibrate(steady, 0.005) == (1, 0.01) and steady.asked == [1, 1]


class _PausedOnce(_Timer):
    """A call of 0.2 ms whose first timing was slowed to 6 ms by a stray pause."""

    def timeit(self, number):
        paused = not self.asked
        self.asked.append(number)
        return 0.006 if paused else number * self.per_call_s


def test_a_stray_pause_in_the_first_call_does_not_fix_the_batch_at_one_call():
    timer = _PausedOnce(2e-4)
    number, elapsed = calibrate(timer, 0.005)
    assert number == 30 and elapsed == pytest.approx(0.006)  # 0.005 / 2e-4 · 1.2
    assert timer.asked == [1, 1, 30]


def test_batches_are_calibrated_once_then_one_batch_of_each_call_in_order():
    order = []
    batches = Batches([lambda: order.append("a"), lambda: order.append("b")], min_batch_s=0.002,
                      shares=(1.0, 0.5))
    numbers = list(batches.numbers)
    assert all(n >= 1 for n in numbers)
    for _ in range(3):
        order.clear()
        per_call = batches.batch()
        assert order == ["a"] * numbers[0] + ["b"] * numbers[1]  # the derivative's batch, then f's
        assert len(per_call) == 2 and all(t > 0 for t in per_call)
    assert batches.numbers == numbers  # not calibrated again


def test_a_batch_of_slow_calls_is_one_call_each_and_its_time_per_call():
    batches = Batches([lambda: time.sleep(0.003)], min_batch_s=0.002)
    assert batches.numbers == [1]
    assert batches.batch()[0] >= 0.003  # sleep guarantees a lower bound


def test_a_timing_is_the_median_and_spread_of_its_samples():
    t = timing_of([3.0, 1.0, 2.0, 5.0, 4.0], 7)
    assert (t.median_s, t.iqr_s, t.number, t.repeats) == (3.0, 2.0, 7, 5)
    assert t.samples_s == [3.0, 1.0, 2.0, 5.0, 4.0]  # in the order timed: round by round


def test_timing_settings_are_read_once_and_checked():
    assert TimingSettings.of(None) == TimingSettings() == timing.DEFAULT
    assert (timing.DEFAULT.rounds, timing.DEFAULT.rounds_max_s) == (timing.ROUNDS, timing.ROUNDS_MAX_S)
    assert TimingSettings.of({"rounds": 3}) == TimingSettings(rounds=3)
    assert TimingSettings.of(timing.UNTIMED) is timing.UNTIMED and not timing.UNTIMED.timed
    assert TimingSettings.of(TimingSettings().to_dict()) == TimingSettings()
    assert TimingSettings().to_dict() == {"rounds": 10, "min_batch_s": 0.005, "rounds_max_s": 3.0}
    for bad, says in [({"round": 3}, "unknown timing setting 'round'"), ({"rounds": -1}, "≥ 0"),
                      ({"rounds": 2.5}, "whole number"), ({"rounds_max_s": -1.0}, "rounds_max_s"),
                      ({"min_batch_s": "fast"}, "min_batch_s"), ([3], "a mapping")]:
        with pytest.raises(UsageError, match=says):
            TimingSettings.of(bad)
