"""Steady-state timing of one prepared call.

The caller has already run the first call (compile, warm-up), which it reports
as setup.  Here ``timeit`` calibrates the loop with ``autorange`` (enough calls
to take ``MIN_BATCH_S``), then takes ``repeats`` batches with the garbage
collector off; a call's time is a batch's time over its count.  The median and
interquartile range of those per-call times are reported.  The calibration's last
batch, of the loop's size, counts as the first (a call that fills a batch alone is
timed one call per batch); calls of 0.1 s or more take ``LONG_REPEATS`` batches.
:func:`measure_interleaved` times a derivative and its function batch by batch in
alternation, so that their ratio is taken round by round under the same load.

A cell is timed in ``PASSES`` passes: the first in the cell's pipeline, the others once the run's
other cells are done, each in a fresh worker process (:mod:`harness.runner.loop`), as asv times each
benchmark in two processes.  :func:`pooled` joins them: the figure is the lower pass median, since a
burst of load or an unlucky process slows a pass and never speeds one up (the same SymPy cells read
1.6 µs in one run and 2.9 µs in the next, each run's batches agreeing within 5 %), and the samples of
every pass go into its interval, which so spans the run-to-run movement the passes saw.

A run's timing settings are one :class:`TimingSettings`; ``timing={"repeats": 0}`` (:data:`UNTIMED`)
checks and grades every cell without timing it: what a capability check needs, and nothing the
steady-state figures depend on.
"""

from __future__ import annotations

import dataclasses
import math
import timeit
from dataclasses import dataclass, field

import numpy as np

from harness.errors import UsageError

# batches of ≥ 5 ms: perf_counter resolves them to well under 0.1 %, and the 5 batches of a cell
# stay short enough for the default matrix to run in minutes
MIN_BATCH_S = 0.005
REPEATS = 5
# a call of 0.1 s or more (a Python loop over points, a large stencil, a workload) is timed 3
# times: its spread is a few per cent, and 5 such calls made a handful of cells a fifth of the
# default run (the workloads' 70 such cells: 40 s of it)
LONG_CALL_S = 0.1
LONG_REPEATS = 3
# passes per cell, and the batches are shared among them (5 batches over 2 passes: 3 each)
PASSES = 2
# a cell is timed again only where that costs at most this; else once, with all the batches: the
# later pass of all 2,704 timed cells of the default run took 5.8 minutes (a compile of seconds,
# calls of 0.1 s and more), of its 2,050 cheapest about 1.5
LATER_PASS_MAX_S = 0.1


@dataclass(frozen=True)
class TimingSettings:
    """How a run times its cells, read once where the run begins (:meth:`of`) and passed on as is."""

    repeats: int = REPEATS  # batches per cell, shared among its passes; 0: checked and graded, not timed
    min_batch_s: float = MIN_BATCH_S
    passes: int = PASSES
    # a later pass costs at most this, else the cell is timed once (a test of the pooling sets ∞, so
    # that whether a cell gets its second pass does not depend on how fast the machine is today)
    later_pass_max_s: float = LATER_PASS_MAX_S

    @classmethod
    def of(cls, given=None) -> TimingSettings:
        """Settings from what a user gave: None (the defaults), a mapping of some of the fields (as
        ``harness.run(timing={"repeats": 3})`` and a recorded selection say it), or settings."""
        if given is None or isinstance(given, cls):
            return given or cls()
        if not isinstance(given, dict):
            raise UsageError(f"timing settings are a mapping of {', '.join(_FIELDS)}, "
                             f"not {type(given).__name__}")
        unknown = [k for k in given if k not in _FIELDS]
        if unknown:
            raise UsageError(f"unknown timing setting {unknown[0]!r} (choose from {', '.join(_FIELDS)})")
        found = cls(**given)
        for name in _FIELDS:
            value = getattr(found, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise UsageError(f"the timing setting {name} must be a number ≥ 0, got {value!r}")
        if found.passes < 1 or found.passes != int(found.passes) or found.repeats != int(found.repeats):
            raise UsageError("the timing settings' repeats and passes must be whole numbers (passes ≥ 1)")
        return cls(**{**given, "repeats": int(found.repeats), "passes": int(found.passes)})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def timed(self) -> bool:
        """Whether cells are timed (all but :data:`UNTIMED`)."""
        return self.repeats > 0

    def with_passes(self, n: int) -> TimingSettings:
        return dataclasses.replace(self, passes=n)

    def loop(self, n: int | None = None) -> LoopSettings:
        """The loop of one of ``n`` passes (default: :attr:`passes`): the batches shared among them."""
        n = max(1, self.passes if n is None else n)
        return LoopSettings(repeats=max(min(self.repeats, 2), math.ceil(self.repeats / n)),
                            min_batch_s=self.min_batch_s,
                            long_repeats=math.ceil(min(LONG_REPEATS, self.repeats) / n))

    def passes_for(self, fixed_s: float, round_s: float) -> int:
        """How many passes a cell is timed in: :attr:`passes`, or one (with all the batches) where a
        later pass would cost more than :attr:`later_pass_max_s`: ``fixed_s`` (its setup and first call)
        again, then a calibration and its rounds of ``round_s`` each."""
        n = self.passes
        if n > 1 and fixed_s + (self.loop(n).repeats + 1) * round_s > self.later_pass_max_s:
            return 1
        return n


_FIELDS = tuple(f.name for f in dataclasses.fields(TimingSettings))


@dataclass(frozen=True)
class LoopSettings:
    """One pass's timing loop (:func:`measure_interleaved`'s keywords)."""

    repeats: int
    min_batch_s: float
    long_repeats: int


UNTIMED = TimingSettings(repeats=0)  # cells checked and graded, not timed
DEFAULT = TimingSettings()


@dataclass
class Timing:
    median_s: float
    iqr_s: float
    number: int  # calls per batch
    repeats: int
    samples_s: list  # per-call time of each batch
    pass_medians_s: list = field(default_factory=list)  # each pass's median, in the order timed

    def __post_init__(self):
        if not self.pass_medians_s:
            self.pass_medians_s = [self.median_s]


def measure(call, repeats: int = REPEATS, min_batch_s: float = MIN_BATCH_S) -> Timing:
    """Time ``call()`` (which must return only once its work is done)."""
    return measure_interleaved([call], repeats, min_batch_s)[0]


def measure_interleaved(calls, repeats: int = REPEATS, min_batch_s: float = MIN_BATCH_S,
                        shares=None, long_repeats: int = LONG_REPEATS,
                        rounds=None) -> list[Timing]:
    """Time several calls in alternating batches, round by round: the first call (the lead)
    as :func:`measure` would, the others right after each of its batches, each with its own
    batch target ``min_batch_s · share`` (``shares``: 1 for each by default).

    A burst of load on a shared machine lasts longer than a round, so the calls of one
    round see the machine in the same state: the ratio of their times round by round
    (:func:`paired_ratio`) holds where two loops run apart do not (a NumPy LSTM timed at
    8 and 14 ms a second apart on this 2-core machine).  ``rounds``, when given, is called
    with a round's time once calibrated and returns the :class:`LoopSettings` whose ``repeats`` and
    ``long_repeats`` to take."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    shares = [1.0] * len(calls) if shares is None else list(shares)
    timers = [timeit.Timer(call) for call in calls]
    calibrated = [_calibrate(timer, min_batch_s * share) for timer, share in zip(timers, shares)]
    numbers = [number for number, _ in calibrated]
    # round 1: each call's last calibration batch, already of the loop's size and timed the same way
    samples = [[elapsed / number] for number, elapsed in calibrated]
    if rounds is not None:
        chosen = rounds(sum(elapsed for _, elapsed in calibrated))
        repeats, long_repeats = chosen.repeats, chosen.long_repeats
    lead_number, lead_elapsed = calibrated[0]
    if lead_number == 1 and lead_elapsed >= LONG_CALL_S:
        repeats = min(repeats, long_repeats)
    while len(samples[0]) < repeats:
        for i, timer in enumerate(timers):
            samples[i].append(timer.timeit(numbers[i]) / numbers[i])
    return [_summary(np.array(s), number) for s, number in zip(samples, numbers)]


def paired_ratio(a: Timing, b: Timing) -> float:
    """The median over rounds of a's time over b's, for two calls of one
    :func:`measure_interleaved` loop."""
    return float(np.median(np.asarray(a.samples_s) / np.asarray(b.samples_s)))


def pooled(timings) -> Timing:
    """Several passes of one call as one Timing: the lower pass median, every pass's samples (in
    the order timed, so that two calls' pooled samples still pair round by round)."""
    timings = list(timings)
    samples = np.concatenate([np.asarray(t.samples_s, dtype=float) for t in timings])
    medians = [m for t in timings for m in t.pass_medians_s]
    q1, q3 = np.percentile(samples, [25, 75])
    return Timing(float(min(medians)), float(q3 - q1), timings[0].number, len(samples), samples.tolist(),
                  medians)


def _calibrate(timer: timeit.Timer, target_s: float) -> tuple[int, float]:
    """timeit's autorange, with our own batch target: (calls per batch, the last batch's time)."""
    elapsed = timer.timeit(1)
    number = 1
    while True:
        if elapsed >= target_s:
            return number, elapsed
        # aim straight for the target rather than stepping 1, 2, 5, 10, ...
        number = max(number * 2, int(number * target_s / max(elapsed, 1e-9) * 1.2))
        elapsed = timer.timeit(number)


def _summary(samples: np.ndarray, number: int) -> Timing:
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return Timing(float(median), float(q3 - q1), number, len(samples), samples.tolist())
