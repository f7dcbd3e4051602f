"""Error figures of a computed derivative against the reference.

Per point: ``abs_err = |d − ref|`` (computed against the double-double
reference, so it is exact well below float64 resolution) and
``rel_err = abs_err / max(|ref|, s)``.  The floor ``s = REL_FLOOR · max|ref|``
(over the cell's defined points; 1 where the reference vanishes everywhere)
keeps a point where the derivative crosses zero from swamping the figure:
there the error is measured against a thousandth of the derivative's largest
magnitude, not against a value that may be arbitrarily close to zero (a grid
point 2·10⁻⁴ from a root of the cubic's derivative would otherwise grade every
exact method by that root's conditioning, not by its arithmetic).
A cell's ``max_rel_err`` is the largest ``rel_err`` and ``digits`` is
``−log10(max_rel_err)``, capped at ``DIGITS_CAP`` (which thus means "exact at
every point").  Points where the derivative does not exist get no error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.store.schema import DIGITS_CAP
from harness.truth.reference import Reference

REL_FLOOR = 1e-3


class BadResult(Exception):
    """The method returned something that is not a derivative: status ``failed``."""


class OutOfRange(Exception):
    """The true values lie beyond the cell's dtype: status ``out_of_range``, whatever the method."""


def beyond_range(ref: Reference, dtype: str, quantity: str) -> str:
    """Why no result in ``dtype`` can be right at the graded points: the reference's function or
    ``quantity`` values exceed the dtype's largest finite number ('' when they do not)."""
    limit = float(np.finfo(dtype).max)
    n = len(ref.defined)
    values = np.abs(np.asarray(ref.hi, dtype=np.float64)).reshape(n, -1)[ref.defined]
    for what, found in (("function", np.abs(np.asarray(ref.f, dtype=np.float64))), (quantity, values)):
        found = found[~np.isnan(found)]
        if found.size and found.max() > limit:
            beyond = int((found > limit).sum())
            return (f"the true {what} reaches {found.max():.3g} at {beyond} of {found.size} values, beyond "
                    f"{dtype}'s largest number {limit:.3g}: no {dtype} result can hold it")
    return ""


@dataclass
class Accuracy:
    abs_err: np.ndarray  # per point, NaN where undefined
    rel_err: np.ndarray
    max_abs_err: float
    max_rel_err: float
    digits: float
    seed_digits: float  # the same figure over the seeds' own points only
    n_undefined: int


def digits_of(rel_err: float) -> float:
    if np.isnan(rel_err):
        return np.nan
    return DIGITS_CAP if rel_err == 0 else min(DIGITS_CAP, float(-np.log10(rel_err)) + 0.0)  # no −0


def check_result(values, shape) -> np.ndarray:
    """The method's output as float64, or BadResult when it has the wrong shape.  A sparse
    Jacobian (scipy.sparse, one point) comes back as a one-element object array holding it."""
    if hasattr(values, "tocsr") and hasattr(values, "nnz"):  # scipy.sparse, without importing it
        if shape[0] != 1 or tuple(values.shape) != tuple(shape[1:]):
            raise BadResult(f"returned a sparse {values.shape} matrix, expected {shape[1:]} at one point")
        held = np.empty(1, dtype=object)
        held[0] = values.tocsr().astype(np.float64)
        return held
    values = np.asarray(values)
    if values.shape != shape:
        raise BadResult(f"returned shape {values.shape}, expected {shape}")
    if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        raise BadResult(f"returned dtype {values.dtype}, expected a real float array")
    return values.astype(np.float64)  # exact for float32 results


def _per_point(a: np.ndarray) -> np.ndarray:
    """Largest entry of each point's value (a vector quantity has several)."""
    return a.reshape(a.shape[0], -1).max(axis=1) if a.ndim > 1 else a


def graded(values: np.ndarray, ref: Reference) -> tuple[np.ndarray, np.ndarray]:
    """The numbers of ``values`` that ``ref`` grades, as (hi, lo): the values themselves (lo 0),
    or their projections where the reference grades directional derivatives and sampled
    entries (:mod:`harness.truth.directional`)."""
    if ref.project is None:
        return values, np.zeros_like(values)
    return ref.project(values)


def point_errors(values: np.ndarray, ref: Reference, values_lo=0.0):
    """Per-point (abs_err, rel_err), the largest over a point's entries; NaN where undefined.
    ``values`` (+ ``values_lo``) are the graded numbers (see :func:`graded`)."""
    defined = ref.defined
    abs_err = np.full(values.shape, np.nan)
    rel_err = np.full(values.shape, np.nan)
    d = values[defined]
    lo = np.broadcast_to(values_lo, values.shape)[defined]
    # Sterbenz: d − hi is exact whenever d is within a factor 2 of the reference.
    abs_err[defined] = np.abs((d - ref.hi[defined]) + (lo - ref.lo[defined]))
    scale = np.max(np.abs(ref.hi[defined]), initial=0.0)
    floor = REL_FLOOR * scale if scale > 0 else 1.0
    rel_err[defined] = abs_err[defined] / np.maximum(np.abs(ref.hi[defined]), floor)
    return _per_point(abs_err), _per_point(rel_err)


def accuracy(values: np.ndarray, ref: Reference, seed_mask: np.ndarray, values_lo=0.0) -> Accuracy:
    """Error figures of ``values`` (the graded numbers at each point, float64; see
    :func:`graded`) against ``ref``."""
    bad = ref.defined & ~np.isfinite(values).reshape(len(values), -1).all(axis=1)
    if bad.any():
        raise BadResult(f"{int(bad.sum())} of {int(ref.defined.sum())} points are NaN or infinite")
    abs_err, rel_err = point_errors(values, ref, values_lo)

    def worst(err, mask=None):
        err = err[ref.defined if mask is None else mask & ref.defined]
        return float(err.max()) if err.size else np.nan

    max_rel = worst(rel_err)
    return Accuracy(
        abs_err=abs_err,
        rel_err=rel_err,
        max_abs_err=worst(abs_err),
        max_rel_err=max_rel,
        digits=digits_of(max_rel),
        seed_digits=digits_of(worst(rel_err, seed_mask)),
        n_undefined=int((~ref.defined).sum()),
    )
