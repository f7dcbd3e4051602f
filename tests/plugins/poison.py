"""Methods that leave their worker process poisoned for the cells after it, each measuring its own
cell correctly: one patches ``np.tanh`` (and the array namespace the cases are evaluated with), one
leaves a busy thread running, one leaves child processes running.

A worker must notice each after its cell and be replaced (:mod:`harness.leftovers`).  They act
only in a worker process (``DIFFBENCH_WORKER`` is set there) and on at most 1,000 points, so
that a run's later, larger cells are not theirs.  ``DIFFBENCH_TEST_SLEEP`` is the argument of
the ``sleep`` processes started (default 1000 s), so that a test can find them.
"""

import os
import subprocess
import threading

import numpy as np

from harness.extend import Evaluator, Method, register_method

TANH = np.tanh  # the real one


def _tanh_derivative(cell):
    return Evaluator(call=lambda x: 1 - TANH(x) ** 2)  # exact, whatever np.tanh is by then


def _in_worker():
    if os.environ.get("DIFFBENCH_WORKER") != "1":
        raise RuntimeError("this method poisons only a worker process")


def patches_tanh(cell):
    _in_worker()
    import array_api_compat.numpy as xp  # what the cases' fn(xp, x) calls

    def rounded(x, *args, **kwargs):  # tanh to 7 digits: a central difference loses all but 2
        return TANH(np.asarray(x, dtype=np.float32), *args, **kwargs).astype(np.result_type(x))

    np.tanh = xp.tanh = rounded
    return _tanh_derivative(cell)


def leaves_a_thread(cell):
    _in_worker()

    def spin():
        while True:  # busy for ever: every later cell of its process would share a core with it
            pass

    threading.Thread(target=spin, name="spinner").start()  # not a daemon
    return _tanh_derivative(cell)


def leaves_children(cell):
    _in_worker()
    for _ in range(5):
        subprocess.Popen(["sleep", os.environ.get("DIFFBENCH_TEST_SLEEP", "1000")])
    return _tanh_derivative(cell)


for name, prepare in [("poison-tanh", patches_tanh), ("poison-thread", leaves_a_thread),
                      ("poison-children", leaves_children)]:
    register_method(Method(name, "numerical", prepare, dtypes=("float64",), max_points=1000,
                           description="tanh' = 1 − tanh², leaving its worker poisoned"))
