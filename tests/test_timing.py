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
    # 1 call: 0.1 ms; then 0.005/1e-4 · 1.2 = 60 calls, 6 ms; kept: ⌈60 · 0.005 · 1.05 / 0.006⌉ = 53
    assert calibrate(timer, 0.005) == (53, pytest.approx(0.0053))
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
    # 0.005 / 2e-4 · 1.2 = 30 calls, 6 ms; kept: ⌈30 · 0.005 · 1.05 / 0.006⌉ = 27 (5.4 ms)
    assert number == 27 and elapsed == pytest.approx(0.0054)
    assert timer.asked == [1, 1, 30]


class _ColdFirst(_Timer):
    """Calls of 0.1 ms, the first single one 0.3 ms (cold caches)."""

    def timeit(self, number):
        cold = not self.asked
        self.asked.append(number)
        return 3e-4 if cold else number * self.per_call_s


def test_a_batch_aimed_past_its_target_is_trimmed_to_it():
    timer = _ColdFirst(1e-4)
    number, elapsed = calibrate(timer, 0.005)
    # 1 cold call: 0.3 ms, so int(0.005 / 3e-4 · 1.2) = 20 calls: 2 ms, short; then
    # max(40, int(20 · 0.005 / 0.002 · 1.2) = 60) calls: 6 ms, 1.2× the target;
    # kept ⌈60 · 0.00525 / 0.006⌉ = 53
    assert timer.asked == [1, 20, 60]
    assert number == 53 and elapsed == pytest.approx(0.0053)
    assert elapsed >= 0.005  # never below the target the last batch says it reaches


def test_batches_are_calibrated_once_then_one_batch_of_each_call_in_order():
    order = []
    batches = Batches([lambda: order.append("a"), lambda: order.append("b")], min_batch_s=0.002,
                      shares=(1.0, 0.5))
    numbers = list(batches.numbers)
    assert all(n >= 1 for n in numbers)
    for _ in range(3):
        order.clear()
        per_call = batches.batch()
        # the derivative's batch, then f's, each after one untimed call of its own
        assert order == ["a"] * (numbers[0] + 1) + ["b"] * (numbers[1] + 1)
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
    assert TimingSettings().to_dict() == {"rounds": 10, "min_batch_s": timing.MIN_BATCH_S,
                                          "rounds_max_s": 3.0, "clock": "auto"}
    assert TimingSettings.of({"clock": "wall"}).clock == "wall"
    for bad, says in [({"round": 3}, "unknown timing setting 'round'"), ({"rounds": -1}, "≥ 0"),
                      ({"rounds": 2.5}, "whole number"), ({"rounds_max_s": -1.0}, "rounds_max_s"),
                      ({"min_batch_s": "fast"}, "min_batch_s"), ([3], "a mapping"),
                      ({"clock": "sundial"}, "clock is one of auto, cpu, wall")]:
        with pytest.raises(UsageError, match=says):
            TimingSettings.of(bad)


def test_the_clock_is_cpu_time_on_one_cpu_thread_and_the_wall_clock_elsewhere():
    auto = TimingSettings()
    assert auto.clock_for("cpu", 1) == "cpu"
    assert auto.clock_for("cpu", 2) == "wall"  # CPU time would sum its threads
    assert auto.clock_for("cpu", "all") == "wall" and auto.clock_for("cpu", None) == "wall"
    assert auto.clock_for("gpu", 1) == "wall"  # the device's time: only the wall clock sees it
    assert TimingSettings(clock="wall").clock_for("cpu", 1) == "wall"
    assert TimingSettings(clock="cpu").clock_for("gpu", 4) == "cpu"  # what a user asked for


def test_cpu_time_leaves_out_waiting_and_the_wall_clock_counts_it():
    # a call that only waits: 5 ms of sleep use no CPU, which the wall clock reads and CPU time does not
    wait = lambda: time.sleep(0.005)  # noqa: E731
    wall = Batches([wait], min_batch_s=0.001, clock="wall")
    cpu = Batches([wait], min_batch_s=0.001, clock="cpu")
    assert wall.batch()[0] >= 0.005
    assert cpu.batch()[0] < 0.0025
    spin_until = lambda: time.perf_counter() + 0.003  # noqa: E731

    def busy():  # 3 ms of work: CPU time reads it
        end = spin_until()
        while time.perf_counter() < end:
            pass
    assert Batches([busy], min_batch_s=0.001, clock="cpu").batch()[0] > 0.0005


class _Counted:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1


def test_a_quick_call_is_warmed_before_each_batch_and_a_slow_one_is_not(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setitem(timing.CLOCKS, "fake", lambda: clock["now"])

    def call_of(seconds):  # a call that advances the fake clock by its time
        counted = _Counted()

        def call():
            counted()
            clock["now"] += seconds
        return counted, call
    quick, quick_call = call_of(1e-4)
    slow, slow_call = call_of(0.2)
    batches = Batches([quick_call, slow_call], min_batch_s=0.005, clock="fake")
    assert batches.warm == [True, False]
    quick.calls = slow.calls = 0
    per_call = batches.batch()
    assert quick.calls == batches.numbers[0] + 1 and slow.calls == batches.numbers[1] == 1
    assert per_call == [pytest.approx(1e-4), pytest.approx(0.2)]  # the warming call is not in the time
