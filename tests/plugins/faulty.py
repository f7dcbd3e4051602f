"""Methods that are wrong or broken on purpose: the harness must catch each one."""

import time

import numpy as np

from harness.extend import Evaluator, Method, Unavailable, register_method
from harness.namespaces import namespace


def _central(cell, h):
    xp = namespace("numpy")

    def f(x):
        return cell.case.fn(xp, x)

    return lambda x: (f(x + h) - f(x - h)) / (2 * h)


def sloppy(cell):  # a central difference with a far too large step: ~3 digits
    return Evaluator(call=_central(cell, 0.05))


def wrong_sign(cell):
    d = _central(cell, 1e-5)
    return Evaluator(call=lambda x: -d(x))


def nan(cell):
    return Evaluator(call=lambda x: np.full_like(x, np.nan))


def short(cell):
    return Evaluator(call=lambda x: x[:-1])


def raises(cell):
    def call(x):
        raise ZeroDivisionError("boom inside the derivative")

    return Evaluator(call=call)


def slow(cell):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # a derivation that never ends in time (sleeping: no core burnt)
        time.sleep(0.01)
    return Evaluator(call=lambda x: x)


def no_device(cell):
    raise Unavailable("this method needs hardware that is not here")


for name, prepare in [("sloppy", sloppy), ("wrong-sign", wrong_sign), ("nan", nan),
                      ("short", short), ("raises", raises), ("slow", slow),
                      ("no-device", no_device)]:
    register_method(Method(name, "numerical", prepare))
register_method(Method("needs-missing", "automatic", sloppy, requires=("no_such_backend_xyz",)))
