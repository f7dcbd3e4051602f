"""Methods that break the process they run in, for the fault-injection tests.

Each fails in a way a benchmark meets in the wild: a native crash (a segfault,
``os.abort()``), native code that never returns and ignores the alarm,
unbounded allocation, an exception, NaN, a wrong shape, a missing backend.
Crashing and hanging ones act only in a worker process (``DIFFBENCH_WORKER`` is
set there), so that loading this file elsewhere is harmless.
"""

import ctypes
import os
import signal
import time

import numpy as np

from harness.extend import Evaluator, Method, register_method
from harness.namespaces import namespace


def _central(cell):
    xp = namespace("numpy")
    h = 1e-5 if cell.dtype == "float64" else 1e-2

    def d(x):
        return (cell.case.fn(xp, x + h) - cell.case.fn(xp, x - h)) / (2 * h)

    return d


def _in_worker():
    if os.environ.get("DIFFBENCH_WORKER") != "1":
        raise RuntimeError("this fault only runs in a worker process")


def segfault(cell):
    _in_worker()
    return Evaluator(call=lambda x: ctypes.string_at(0))  # reads address 0: SIGSEGV


def aborts(cell):
    _in_worker()
    os.abort()


def native_hang(cell):
    _in_worker()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # as native code that never yields
    time.sleep(3600)


def hog(cell):
    hoard = []
    while True:  # until the address-space limit answers MemoryError
        hoard.append(np.empty(2**27))  # 1 GiB of address space each, untouched: quick to refuse


def raises(cell):
    raise ZeroDivisionError("boom while preparing")


def nan(cell):
    d = _central(cell)
    return Evaluator(call=lambda x: np.where(x > 0, np.nan, d(x)))


def wrong_shape(cell):
    return Evaluator(call=lambda x: np.zeros((len(x), 2)))


def python_hang(cell):
    while True:  # Python code that never returns (sleeping: no core burnt): the worker's alarm stops it
        time.sleep(0.01)


FAULTS = {"segfault": segfault, "abort": aborts, "native-hang": native_hang, "hog": hog,
          "raises": raises, "nan-half": nan, "wrong-shape": wrong_shape, "python-hang": python_hang}
for name, prepare in FAULTS.items():
    register_method(Method(f"fault-{name}", "numerical", prepare, dtypes=("float64",)))
register_method(Method("fault-missing", "automatic", raises, requires=("no_such_backend_xyz",)))
