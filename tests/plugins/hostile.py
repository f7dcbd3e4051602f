"""A plugin whose every string is markup, script or terminal control: a shared report must show
each as text and run none of it, and a terminal line must not be redrawn by any of it.

The case's name, formula, source and note, the methods' names and descriptions, a failure's
exception message and what it printed, and an unavailable method's hint all hold the same
payloads (tests/test_injection.py).
"""

import numpy as np

from harness.extend import Case, Evaluator, Method, register_case, register_method
from harness.namespaces import namespace

SCRIPT = "</script><script>document.title='pwned'</script>"
IMG = "<img src=x onerror=alert(1)>"
COMMENT = "--><!--<script>"  # out of an SVG or HTML comment, into a script element's escaped state
QUOTE = "\" onmouseover=\"document.title='pwned'\" x=\""  # out of an attribute's value
ANSI = "\x1b[2J\x1b[31mred\x1b[0m\r\x07"
PAYLOAD = f"{SCRIPT}{IMG}{COMMENT}{QUOTE}"

CASE = f"hostile{SCRIPT}{IMG}"
EVIL = f"evil{SCRIPT}{IMG}"
BROKEN = f"broken{SCRIPT}{IMG}{ANSI}"  # its log line on a terminal too
MISSING = f"missing{IMG}"


def _central(cell):
    xp = namespace("numpy")
    c = np.asarray(np.finfo(cell.dtype).eps ** (1 / 3), dtype=cell.dtype)

    def derivative(x):
        h = c * np.maximum(1, np.abs(x))
        h = (x + h) - x
        return (cell.case.fn(xp, x + h) - cell.case.fn(xp, x - h)) / (2 * h)

    return derivative


def prepare_evil(cell):
    """A correct central difference, under a hostile name."""
    return Evaluator(call=_central(cell))


def prepare_broken(cell):
    def call(x):
        print(f"printed {PAYLOAD}{ANSI}", flush=True)  # the failed cell's message ends with this
        raise ValueError(f"raised {PAYLOAD}{ANSI}")

    return Evaluator(call=call)


register_case(Case(CASE, lambda xp, x: xp.tanh(x), f"tanh(x) {PAYLOAD}", domain=(-2.0, 2.0), grid=20,
                   seed_points=(0.5,), source=f"source {PAYLOAD}", note=f"note {PAYLOAD}"))
register_method(Method(EVIL, "numerical", prepare_evil, dtypes=("float64",),
                       description=f"described {PAYLOAD}"))
register_method(Method(BROKEN, "numerical", prepare_broken, dtypes=("float64",),
                       description=f"described {PAYLOAD}"))
register_method(Method(MISSING, "automatic", prepare_evil, dtypes=("float64",),
                       requires=("diffbench_no_such_module",), hint=f"hint {PAYLOAD}{ANSI}",
                       description=f"described {PAYLOAD}"))
