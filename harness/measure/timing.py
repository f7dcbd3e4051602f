"""Steady-state timing of prepared calls, in rounds shared by every method of a task.

The caller has already run each method's first call (compile, warm-up), which it reports as
setup.  :class:`Batches` then calibrates each call's batch (``timeit``'s autorange with our own
target: enough calls to take ``MIN_BATCH_S``) and times one batch of each per round, with the
garbage collector off; a call's time is a batch's time over its count.

Every method of a task (case × size × quantity × order × dtype × device) is timed in the same
rounds (:mod:`harness.runner.rounds`): in each round one batch of every method, in a freshly
shuffled order, until each has :attr:`TimingSettings.rounds` of them or the rounds have taken
:attr:`TimingSettings.rounds_max_s` (never fewer than :data:`MIN_ROUNDS`).  A burst of load on a
shared machine lasts longer than a round, so the methods of one round see the machine in the same
state: the ratio of two methods' times round by round (a paired ratio,
:func:`harness.stats.noise.paired_ratio`) holds where two loops run apart do not (a jax/torch
ratio moved 2× between identical runs when each cell was timed at its own moment).  No method is
timed in more rounds, or in more passes, than another.

A run's timing settings are one :class:`TimingSettings`; ``timing={"rounds": 0}`` (:data:`UNTIMED`)
checks and grades every cell without timing it: what a capability check needs, and nothing the
steady-state figures depend on.
"""

from __future__ import annotations

import dataclasses
import timeit
from dataclasses import dataclass

import numpy as np

from harness.errors import UsageError

# batches of ≥ 5 ms: perf_counter resolves them to well under 0.1 %, and a call that pays a fixed
# cost once per batch (some TensorFlow and torch.func calls pay ~3 ms after another method has run
# in their worker) is read as that cost over the batch's calls: batches of 2.5 ms, trimmed to their
# target, read such calls 2.5–3.3× apart in identical runs, as their calls per batch moved
MIN_BATCH_S = 0.005
# rounds per task: 10 paired samples give the median of their ratios an order-statistic interval of
# 97.9 % coverage (the 2nd and 9th), where 5 reach only 93.75 % with the extremes
ROUNDS = 10
# a task's rounds stop once they have taken this long (after a whole round, and never before
# MIN_ROUNDS): a task of calls of 0.1 s and more (a Python loop over points, a workload) is timed
# in 3 rounds, as such calls were timed 3 times before, and the default matrix stays within minutes
ROUNDS_MAX_S = 3.0
MIN_ROUNDS = 3
# timing settings retired with the passes they set (every method of a task is now timed in the same
# rounds): a results file recorded before says them, and is read without them
RETIRED = ("passes", "later_pass_max_s")


@dataclass(frozen=True)
class TimingSettings:
    """How a run times its cells, read once where the run begins (:meth:`of`) and passed on as is."""

    rounds: int = ROUNDS  # timing rounds per task; 0: checked and graded, not timed
    min_batch_s: float = MIN_BATCH_S
    rounds_max_s: float = ROUNDS_MAX_S  # a task's rounds stop past this (after MIN_ROUNDS of them)

    @classmethod
    def of(cls, given=None, recorded: bool = False) -> TimingSettings:
        """Settings from what a user gave: None (the defaults), a mapping of some of the fields (as
        ``harness.run(timing={"rounds": 3})`` and a recorded selection say it; ``repeats`` is the
        older name of ``rounds``), or settings.  ``recorded``: read from a results file, whose
        retired settings (:data:`RETIRED`) are dropped."""
        if given is None or isinstance(given, cls):
            return given or cls()
        if not isinstance(given, dict):
            raise UsageError(f"timing settings are a mapping of {', '.join(_FIELDS)}, "
                             f"not {type(given).__name__}")
        given = dict(given)
        if "repeats" in given and "rounds" not in given:
            given["rounds"] = given.pop("repeats")
        if recorded:
            given = {k: v for k, v in given.items() if k not in RETIRED and k != "repeats"}
        unknown = [k for k in given if k not in _FIELDS]
        if unknown:
            why = (": every method of a task is timed in the same rounds" if unknown[0] in RETIRED else "")
            raise UsageError(f"unknown timing setting {unknown[0]!r} (choose from {', '.join(_FIELDS)}){why}")
        found = cls(**given)
        for name in _FIELDS:
            value = getattr(found, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise UsageError(f"the timing setting {name} must be a number ≥ 0, got {value!r}")
        if found.rounds != int(found.rounds):
            raise UsageError(f"the timing setting rounds must be a whole number, got {found.rounds!r}")
        return cls(**{**given, "rounds": int(found.rounds)})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def timed(self) -> bool:
        """Whether cells are timed (all but :data:`UNTIMED`)."""
        return self.rounds > 0

    def more_rounds(self, done: int, elapsed_s: float) -> bool:
        """Whether a task that has run ``done`` whole rounds in ``elapsed_s`` runs another."""
        return done < self.rounds and (done < min(MIN_ROUNDS, self.rounds) or elapsed_s < self.rounds_max_s)


_FIELDS = tuple(f.name for f in dataclasses.fields(TimingSettings))

UNTIMED = TimingSettings(rounds=0)  # cells checked and graded, not timed
DEFAULT = TimingSettings()


@dataclass
class Timing:
    median_s: float
    iqr_s: float
    number: int  # calls per batch
    repeats: int
    samples_s: list  # per-call time of each batch


class Batches:
    """Calls calibrated once and then timed one batch each at a time (a task's round,
    :mod:`harness.runner.rounds`), each with its own batch target ``min_batch_s · share``."""

    def __init__(self, calls, min_batch_s: float = MIN_BATCH_S, shares=None):
        shares = [1.0] * len(calls) if shares is None else list(shares)
        self.timers = [timeit.Timer(call) for call in calls]
        self.numbers = [calibrate(timer, min_batch_s * share)[0] for timer, share in zip(self.timers, shares)]

    def batch(self) -> list[float]:
        """One batch of each call, in order: each one's time per call."""
        return [timer.timeit(n) / n for timer, n in zip(self.timers, self.numbers)]


def timing_of(samples, number: int) -> Timing:
    """A call's :class:`Timing` from its per-call batch times."""
    return _summary(np.asarray(samples, dtype=float), number)


def measure(call, repeats: int = ROUNDS, min_batch_s: float = MIN_BATCH_S) -> Timing:
    """Time ``call()`` (which must return only once its work is done) on its own: ``repeats`` batches."""
    batches = Batches([call], min_batch_s)
    return timing_of([batches.batch()[0] for _ in range(repeats)], batches.numbers[0])


def calibrate(timer: timeit.Timer, target_s: float) -> tuple[int, float]:
    """timeit's autorange, with our own batch target: (calls per batch, the last batch's time).
    A single call that reaches the target is timed once more where it is under ten targets (the
    least of the two counts): one call slowed by a stray pause would otherwise fix the batch at one
    call, which then pays every round what a batch spreads over many calls (a TensorFlow gradient
    calibrated so read 1.1 ms a call, batched 0.2 ms)."""
    elapsed = timer.timeit(1)
    if target_s <= elapsed < 10 * target_s:
        elapsed = min(elapsed, timer.timeit(1))
    number = 1
    while elapsed < target_s:
        # aim straight for the target rather than stepping 1, 2, 5, 10, ...
        number = max(number * 2, int(number * target_s / max(elapsed, 1e-9) * 1.2))
        elapsed = timer.timeit(number)
    return number, elapsed


def _summary(samples: np.ndarray, number: int) -> Timing:
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return Timing(float(median), float(q3 - q1), number, len(samples), samples.tolist())
