"""An example plugin: one case and one method, added without editing diffbench.

    diffbench list cases --plugin examples/my_plugin.py
    diffbench run --plugin examples/my_plugin.py --cases sigmoid,tanh --methods central,five-point
"""

import numpy as np

from harness.extend import Case, Evaluator, Method, register_case, register_method
from harness.namespaces import namespace

# A case is written once, against the array namespace `xp` every backend provides.
register_case(
    Case(
        "sigmoid",
        lambda xp, x: 1 / (1 + xp.exp(-x)),
        "1 / (1 + e^(−x))",
        domain=(-6.0, 6.0),
        seed_points=(0.0,),
        source="example plugin",
    )
)


def prepare_five_point(cell):
    """Fourth-order central difference; its step balances h⁴·f⁽⁵⁾ against ε·f/h."""
    xp = namespace("numpy")
    c = np.asarray(np.finfo(cell.dtype).eps ** 0.2, dtype=cell.dtype)

    def f(x):
        return cell.case.fn(xp, x)

    def derivative(x):
        h = c * np.maximum(1, np.abs(x))
        h = (x + h) - x  # a representable step
        return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)

    return Evaluator(call=derivative)


register_method(Method("five-point", "numerical", prepare_five_point,
                       description="4th-order central stencil, h = ε^(1/5)·max(1,|x|)"))
