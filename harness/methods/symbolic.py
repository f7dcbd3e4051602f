"""SymPy: differentiate the expression, then lambdify it to NumPy (as the seeds do).

Variants: ``cse`` lambdifies with common-subexpression elimination (the
derivative as a DAG rather than a tree); ``expand`` expands the derivative
first (what a user gets from ``expand(diff(f))``: it shows that expansion costs
time and accuracy).  The symbols are plain ``Symbol('x')`` as in the seeds, so
``|x|`` differentiates to an expression with an unevaluated ``Derivative``:
that is reported as a failure, which is what a user of SymPy meets.
"""

import functools
import time

import numpy as np

from harness.model.method import Cell, Evaluator
from harness.model.partials import sympy_derivatives
from harness.model.quantities import value_shape


class UnevaluatedDerivative(Exception):
    pass


@functools.lru_cache(maxsize=64)
def swell(exprs: tuple) -> dict:
    """Expression swell of the derivative's entries: tree nodes, ``count_ops``, the
    operations left after common-subexpression elimination (the DAG), printed length.
    Cached: ``sympy`` and ``sympy-cse`` share the same derivative."""
    import sympy

    replacements, reduced = sympy.cse(list(exprs))
    text = [str(e) for e in exprs]
    return {
        "expr_nodes": sum(sum(1 for _ in sympy.preorder_traversal(e)) for e in exprs),
        "expr_ops": int(sum(sympy.count_ops(e) for e in exprs)),
        "cse_ops": int(sum(sympy.count_ops(v) for _, v in replacements)
                       + sum(sympy.count_ops(e) for e in reduced)),
        "expr_chars": sum(map(len, text)),
        "expression": text[0] if len(exprs) == 1 else f"{len(exprs)} entries",
    }


# (case, quantity, order) → (symbols, derivatives, seconds it took): a derivative does not
# depend on the dtype or on how it is lambdified, so a run derives it once and every cell
# that uses it reports that derivation's measured time
_derived: dict = {}
# (case, quantity, order, variant) → (expressions, lambdified function, expand_s, lambdify_s)
_lambdified: dict = {}


def derive(case, quantity: str, order: int):
    """(symbols, derivatives, seconds, reused): SymPy's derivative of each entry, timed from a
    cleared SymPy cache (the reference has differentiated the same f already)."""
    import sympy

    key = (case.name, case.size_label, case.fn, quantity, order)
    if key in _derived:
        return (*_derived[key], True)
    sympy.core.cache.clear_cache()
    t0 = time.perf_counter()
    xs, exprs = sympy_derivatives(case, quantity, order)
    _derived[key] = (xs, exprs, time.perf_counter() - t0)
    return (*_derived[key], False)


def prepare(cell: Cell, variant: str = "plain") -> Evaluator:
    import sympy

    case = cell.case
    xs, exprs, derived_s, reused = derive(case, cell.quantity, cell.order)
    for expr in exprs:
        if expr.has(sympy.Derivative):
            raise UnevaluatedDerivative(f"SymPy left an unevaluated Derivative: {expr}")
    key = (case.name, case.size_label, case.fn, cell.quantity, cell.order, variant)
    lambdified = key in _lambdified
    if not lambdified:  # expand and lambdify: the same NumPy code for float32 and float64
        t0 = time.perf_counter()
        if variant == "expand":
            exprs = [sympy.expand(e) for e in exprs]
        t1 = time.perf_counter()
        fn = sympy.lambdify(xs, exprs, "numpy", cse=variant == "cse")
        _lambdified[key] = (exprs, fn, t1 - t0 if variant == "expand" else 0.0, time.perf_counter() - t1)
    exprs, fn, expand_s, lambdify_s = _lambdified[key]
    derive_s = derived_s + expand_s
    entry_shape = value_shape(case, cell.quantity, 1)[1:]

    def entry(v, x):  # a constant entry comes back as a bare scalar: give it the points' shape
        v = np.asarray(v)
        return v if v.shape == x.shape[:1] else np.full(x.shape[:1], v, dtype=x.dtype)

    def call(x):
        columns = [x] if case.dim == 1 else [x[:, i] for i in range(case.dim)]
        values = fn(*columns)  # one value per entry
        if len(values) == 1 and not entry_shape:
            return entry(values[0], x)
        return np.stack([entry(v, x) for v in values], axis=-1).reshape(len(x), *entry_shape)

    phases = {"derive_s": derive_s, "compile_s": lambdify_s}
    # work done in an earlier cell (the derivation, or all of it for the other dtype) still
    # belongs to this cell's setup
    phases["reused_s"] = (derived_s if reused else 0.0) + (expand_s + lambdify_s if lambdified else 0.0)
    return Evaluator(call=call, phases=phases,
                     describe=lambda: swell(tuple(exprs)))
