"""Steady-state timing of prepared calls, in rounds shared by every method of a task.

The caller has already run each method's first call (compile, warm-up), which it reports as
setup.  :class:`Batches` then calibrates each call's batch (``timeit``'s autorange with our own
target: enough calls to take ``MIN_BATCH_S``) and times one batch of each per round, with the
garbage collector off; a call's time is a batch's time over its count.  Each batch follows one
untimed call of its own (:data:`WARM_MAX_S`): between two batches of a method the other methods of
its task have run on the same core, and its first call pays to fill the caches again.

Every method of a task (case × size × quantity × order × dtype × device) is timed in the same
rounds (:mod:`harness.runner.rounds`): in each round one batch of every method, in a freshly
shuffled order, until each has :attr:`TimingSettings.rounds` of them or the rounds have taken
:attr:`TimingSettings.rounds_max_s` (never fewer than :data:`MIN_ROUNDS`).  A burst of load on a
shared machine lasts longer than a round, so the methods of one round see the machine in the same
state: the ratio of two methods' times round by round (a paired ratio,
:func:`harness.stats.noise.paired_ratio`) holds where two loops run apart do not (a jax/torch
ratio moved 2× between identical runs when each cell was timed at its own moment).  No method is
timed in more rounds, or in more passes, than another.

The clock (:func:`clock_for`) is the process's CPU time where a cell runs on the CPU on one thread,
and the wall clock elsewhere.  On one thread the two agree on a quiet machine (the median cell's
read 1.00–1.01× apart here), but where the machine is shared, CPU time leaves out the moments the
process waited for its core, and the last moments of the method timed just before it on that core:
across four identical runs of gmm, lse and mlp_loss, the largest movement of a paired ratio was
1.19× by CPU time and 1.33× by the wall clock.  A GPU cell's time is the device's, which only the
wall clock sees; so is a multi-threaded cell's, whose CPU time sums its threads.

A run's timing settings are one :class:`TimingSettings`; ``timing={"rounds": 0}`` (:data:`UNTIMED`)
checks and grades every cell without timing it: what a capability check needs, and nothing the
steady-state figures depend on.
"""

from __future__ import annotations

import dataclasses
import math
import time
import timeit
from dataclasses import dataclass

import numpy as np

from harness.errors import UsageError

# batches of ≥ 2.5 ms: both clocks resolve them to well under 0.1 %.  They were 5 ms while a batch's
# first call paid to fill the caches and the wall clock read the core's previous user's last moments
# (both once per batch, read as spread over its calls): 2.5-ms batches then read some calls 2.3–3.3×
# apart in identical default runs.  With a warming call and CPU time, three runs of the trivial
# cases at 2.5 ms passed the identical-code gate on 3 of 3 pairs, and the default run takes minutes less
MIN_BATCH_S = 0.0025
# a calibrated batch is trimmed to as many calls as reach its target, with 5 % to spare: the aim
# overshoots it by a median 1.4× (its first estimate is a single cold call), which every round pays
TRIM_MARGIN = 1.05
# a batch of calls under this follows one untimed call: a call's first after the other methods of
# its task ran on its core pays to fill the caches again (a torch.func Hessian of 2.4 ms paid 1 ms),
# which a batch would otherwise spread over its calls, so that its time moved with their count; a
# call above it pays so little in proportion (≤ 2 %) that a second call per batch is not worth it
WARM_MAX_S = 0.05
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
Clock = str  # a key of CLOCKS
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
    clock: str = "auto"  # "cpu", "wall", or "auto": each cell's own (clock_for)

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
        if found.clock not in ("auto", *CLOCKS):
            raise UsageError(f"the timing setting clock is one of auto, {', '.join(CLOCKS)}, "
                             f"got {found.clock!r}")
        for name in _NUMBERS:
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

    def clock_for(self, device: str, threads) -> Clock:
        """The clock a cell on ``device`` is timed by, in a process of ``threads`` threads
        (:mod:`harness.host.threads`): the setting's, or where it is "auto" the process's CPU time
        on the CPU on one thread and the wall clock elsewhere (the module's docstring says why)."""
        if self.clock != "auto":
            return self.clock
        return "cpu" if device == "cpu" and threads == 1 else "wall"


_FIELDS = tuple(f.name for f in dataclasses.fields(TimingSettings))
_NUMBERS = tuple(name for name in _FIELDS if name != "clock")

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
    :mod:`harness.runner.rounds`), each with its own batch target ``min_batch_s · share``, by
    ``clock`` (a key of :data:`CLOCKS`)."""

    def __init__(self, calls, min_batch_s: float = MIN_BATCH_S, shares=None, clock: Clock = "wall"):
        shares = [1.0] * len(calls) if shares is None else list(shares)
        self.clock = clock
        self.timers = [timeit.Timer(call, timer=CLOCKS[clock]) for call in calls]
        calibrated = [calibrate(timer, min_batch_s * share) for timer, share in zip(self.timers, shares)]
        self.numbers = [number for number, _ in calibrated]
        self.warm = [elapsed / number < WARM_MAX_S for number, elapsed in calibrated]

    def batch(self) -> list[float]:
        """One batch of each call, in order, each after an untimed call where it is quick
        (:data:`WARM_MAX_S`): each one's time per call."""
        found = []
        for timer, number, warm in zip(self.timers, self.numbers, self.warm):
            if warm:
                timer.timeit(1)
            found.append(timer.timeit(number) / number)
        return found


def timing_of(samples, number: int) -> Timing:
    """A call's :class:`Timing` from its per-call batch times."""
    return _summary(np.asarray(samples, dtype=float), number)


def measure(call, repeats: int = ROUNDS, min_batch_s: float = MIN_BATCH_S, clock: Clock = "wall") -> Timing:
    """Time ``call()`` (which must return only once its work is done) on its own: ``repeats`` batches."""
    batches = Batches([call], min_batch_s, clock=clock)
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
    if number > 1:  # trimmed to the target (TRIM_MARGIN)
        trimmed = min(number, math.ceil(number * target_s * TRIM_MARGIN / elapsed))
        elapsed, number = elapsed * trimmed / number, trimmed
    return number, elapsed


def _summary(samples: np.ndarray, number: int) -> Timing:
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return Timing(float(median), float(q3 - q1), number, len(samples), samples.tolist())
