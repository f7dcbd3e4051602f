"""The step-size sweep: a finite difference's error against its step h (the "V-curve").

A difference quotient has two errors that move in opposite directions with h: truncation,
∝ hᵖ (p = 1 one-sided, 2 central, 4 for the 5-point stencil), and rounding, ∝ ε·|f|/h.  Their
sum is smallest near h* ≈ ε^(1/(p+1)) (times the point's scale, max(1, |x|)), which is the
step the harness's methods choose.  This module evaluates the methods' own difference
quotients (:mod:`harness.methods.finite_diff`, :mod:`harness.methods.stencils`) at steps from
1e-1 down to 1e-15 and grades each against the reference, as the runner grades a cell: the
largest relative error over the case's points (:mod:`harness.truth.accuracy`).

Every step here is relative, h·max(1, |x|), as the methods scale theirs.  Rows, one per
case × method × dtype × h: ``case, method, dtype, h, max_rel_err, digits, chosen_h, optimal_h``.
A step below a float type's resolution leaves x + h = x: there is no difference to take and
the row's error is infinite (0 digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from harness.errors import UsageError
from harness.methods import finite_diff, stencils
from harness.model.method import Cell
from harness.model.registry import CASES, METHODS
from harness.store.schema import STEP_COLUMNS, STEP_KINDS
from harness.truth import accuracy as acc
from harness.truth.reference import reference

STEP_CASES = ("tanh", "exp_sin", "softplus")
STEP_METHODS = ("forward", "backward", "central", "central4")
DTYPES = ("float64", "float32")
STEPS = np.logspace(-1, -15, 29)  # half a decade apart
# h* ≈ ε^(1/root): the truncation error's power of h plus one (the rounding error's 1/h)
ROOTS = {"forward": 2, "backward": 2, "central": 3, "central4": stencils.CENTRAL4[1].root}


def difference(method: str, f, x: np.ndarray, c) -> np.ndarray:
    """The method's first-derivative quotient at every point of x with the relative step c
    (the actual step is c·max(1, |x|)), computed by the methods' own code."""
    if method == "central4":
        return stencils.CENTRAL4[1].apply(f, x, stencils.representable_step(x, c))
    xa, xb = finite_diff.ends(x, c * np.maximum(1, np.abs(x)), method)
    return finite_diff.quotient(f(xa), f(xb), xa - xb)


def optimal_step(method: str, dtype: str) -> float:
    """The textbook optimum of the relative step: ε^(1/(p+1)) for a quotient of order p."""
    return float(np.finfo(dtype).eps) ** (1 / ROOTS[method])


_STEP_TEXT = re.compile(r"([0-9.]+(?:e[-+]?\d+)?)·max\(1, \|x\|\)")


def chosen_step(method: str, case, dtype: str) -> float:
    """The relative step the registered method takes, as its prepared evaluator states it
    (``info["step"]``, e.g. "6.06e-06·max(1, |x|)"); NaN if it does not say."""
    evaluator = METHODS.get(method).prepare(Cell(case, 1, dtype, "cpu"))
    found = _STEP_TEXT.search(str(evaluator.info.get("step", "")))
    return float(found.group(1)) if found else float("nan")


def sweep_case(case, methods=STEP_METHODS, dtypes=DTYPES, steps=STEPS, reuse: bool = True) -> list[dict]:
    """The sweep's rows for one scalar case (first derivatives over its points)."""
    f = stencils.case_function(Cell(case, 1, "float64", "cpu"))
    x64 = case.points()
    rows = []
    for dtype in dtypes:
        x = x64.astype(dtype)
        ref = reference(case, 1, x.astype(np.float64), reuse=reuse)  # what the runner grades against
        seeds = case.seed_mask(x64)
        for method in methods:
            chosen, optimal = chosen_step(method, case, dtype), optimal_step(method, dtype)
            for h in steps:
                with np.errstate(all="ignore"):
                    values = difference(method, f, x, np.asarray(h, dtype=dtype)).astype(np.float64)
                finite = np.isfinite(values[ref.defined]).all()
                rel = acc.accuracy(values, ref, seeds).max_rel_err if finite else np.inf
                rows.append({"case": case.name, "method": method, "dtype": dtype, "h": float(h),
                             "max_rel_err": rel, "digits": 0.0 if rel == np.inf else acc.digits_of(rel),
                             "chosen_h": chosen, "optimal_h": optimal})
    return rows


def step_sweep(cases=STEP_CASES, methods=STEP_METHODS, dtypes=DTYPES, run_id: str = "", reuse: bool = True):
    """The sweep over ``cases`` (names of scalar cases; a sweep's first size) as a DataFrame;
    ``reuse=False``: no reference taken from the disk cache (``--no-cache``)."""
    import pandas as pd

    from harness.store.results import conform

    rows = []
    for name in cases:
        case = CASES.case(name)
        if case.dim != 1:
            continue
        rows += sweep_case(case, methods, dtypes, reuse=reuse)
    table = pd.DataFrame(rows, columns=STEP_COLUMNS)
    table["run_id"] = run_id
    return conform(table, STEP_KINDS)


@dataclass(frozen=True)
class StepSweepPlan:
    """What a run's step sweep covers (:func:`selection`)."""

    cases: tuple[str, ...]
    methods: tuple[str, ...]
    dtypes: tuple[str, ...]


def selection(pairs, chosen: bool | tuple[str, ...] = True) -> StepSweepPlan | None:
    """What a run's step sweep covers, given the run's (method, cell) pairs: ``chosen=True``
    takes STEP_CASES, finite-difference methods and dtypes that the run itself measures (None
    when it measures none of them); names of cases choose those instead."""
    cases = {cell.case.name for _, cell in pairs}
    methods = [m for m in STEP_METHODS if m in {method.name for method, _ in pairs}]
    dtypes = [d for d in DTYPES if d in {cell.dtype for _, cell in pairs}]
    if chosen is True:
        names = [c for c in STEP_CASES if c in cases]
    else:
        names = list(chosen)
        for name in names:
            if CASES.case(name).dim != 1:  # an unknown name raises UsageError, with suggestions
                raise UsageError(f"the step sweep takes scalar cases; {name} is not one")
        methods = methods or list(STEP_METHODS)
        dtypes = dtypes or list(DTYPES)
    if not (names and methods and dtypes):
        return None
    return StepSweepPlan(tuple(names), tuple(methods), tuple(dtypes))
