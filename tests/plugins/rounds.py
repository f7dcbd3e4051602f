"""Methods for the tests of a task's shared rounds (tests/test_rounds.py).

Each is a central difference whose call first spins for :data:`SLEEP_S` of its process's CPU time
(which both clocks see, where a sleep is only on the wall clock): longer than the tests' batch
target (``min_batch_s`` of 2 ms), so that its calibration is one call and each of its batches is
one call, however fast or loaded the machine.  A prepared cell's calls are then known by number:
its first call and its calibration's two (a single call that reaches the batch target is timed
twice: :func:`harness.measure.timing.calibrate`; :data:`CALLS_BEFORE_ROUNDS`), then per round of
its task a warming call and the timed one (:data:`CALLS_PER_ROUND`).
``raises-in-round-2`` raises from its task's round 2 on (rounds count from 0);
``crashes-in-round-2`` ends its worker process there, ``crashes-when-prepared`` as it is prepared
(``os._exit``; outside a worker they raise rather than end the test's own process).
``sleeps-elsewhere`` is on a backend of its own: a run in workers measures it in a worker of its own.
"""

import os
import time

from harness.extend import Evaluator, Method, register_method
from harness.methods import finite_diff

SLEEP_S = 0.003
CALLS_BEFORE_ROUNDS = 3  # the first call, and the calibration's two
CALLS_PER_ROUND = 2  # an untimed one, then the batch of one (harness.measure.timing.WARM_MAX_S)
BREAKS_IN_ROUND = 2
EXIT_STATUS = 9


def _raise(round_id):
    raise RuntimeError(f"gave up in round {round_id}")


def _crash(round_id):
    if os.environ.get("DIFFBENCH_WORKER") != "1":
        raise RuntimeError("this fault only runs in a worker process")
    print(f"ending its worker in round {round_id}", flush=True)
    os._exit(EXIT_STATUS)


def crashes_when_prepared(cell):
    _crash("no round")


def _sleeping(breaks=None):
    def prepare(cell):
        derivative = finite_diff.prepare(cell, scheme="central").call
        calls = [0]

        def call(x):
            calls[0] += 1
            spin_until = time.process_time() + SLEEP_S
            while time.process_time() < spin_until:
                pass
            round_id = (calls[0] - CALLS_BEFORE_ROUNDS - 1) // CALLS_PER_ROUND
            if breaks is not None and round_id >= BREAKS_IN_ROUND:
                breaks(round_id)
            return derivative(x)

        return Evaluator(call=call)

    return prepare


for name, breaks, backend in [("sleeps", None, "numpy"), ("sleeps-too", None, "numpy"),
                              ("sleeps-elsewhere", None, "elsewhere"),
                              (f"raises-in-round-{BREAKS_IN_ROUND}", _raise, "numpy"),
                              (f"crashes-in-round-{BREAKS_IN_ROUND}", _crash, "numpy")]:
    register_method(Method(name, "numerical", _sleeping(breaks), dtypes=("float64",), backend=backend,
                           default=False, description="a central difference that sleeps first"))
register_method(Method("crashes-when-prepared", "numerical", crashes_when_prepared, dtypes=("float64",),
                       default=False, description="ends its worker as it is prepared"))
