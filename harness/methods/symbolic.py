"""SymPy: differentiate the expression, then lambdify it to NumPy (as the seeds do).

The symbol is a plain ``Symbol('x')`` as in the seeds, so ``|x|`` differentiates
to an expression with an unevaluated ``Derivative``: that is reported as a
failure, which is what a user of SymPy meets.
"""

import numpy as np

from harness.extend import Cell, Evaluator
from harness.namespaces import namespace


class UnevaluatedDerivative(Exception):
    pass


def prepare(cell: Cell) -> Evaluator:
    import sympy

    x = sympy.Symbol("x")
    expr = sympy.diff(cell.case.fn(namespace("sympy"), x), x, cell.order)
    if expr.has(sympy.Derivative):
        raise UnevaluatedDerivative(f"SymPy left an unevaluated Derivative: {expr}")
    fn = sympy.lambdify(x, expr, "numpy")
    info = {"expression": str(expr)}
    if x not in expr.free_symbols:  # a constant derivative: lambdify returns a scalar
        value = fn(0)
        return Evaluator(call=lambda a: np.full_like(a, value), info=info)
    return Evaluator(call=fn, info=info)
