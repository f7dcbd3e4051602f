"""The reference that scales: directional derivatives in quad precision, plus sampled entries.

Where mpmath cannot afford every entry (a 10⁵-parameter gradient), the reference is what
:mod:`harness.truth.quad` computes in one evaluation of the case in IEEE quad precision:

==========  ==========================================  =======================================
quantity    graded numbers per point                    a method's value projected by
==========  ==========================================  =======================================
gradient    ∇f·v_d and ∂f/∂x_i                          g ↦ V·g
vjp         uᵀJ·v_d and (uᵀJ)_i                          w ↦ V·w
jacobian    J·v_d and the columns J·e_i (m numbers each)  J ↦ J·Vᵀ (dense or scipy.sparse)
hvp         w_dᵀH·v and (H·v)_i                          h ↦ W·h
jvp         every entry of J·v                           (none: graded in full)
==========  ==========================================  =======================================

v_d are ``DIRECTIONS`` fixed random directions (standard normal, seed 0), e_i a fixed sample
of ``SAMPLE`` coordinates.  An hvp's wᵀHv is the mixed second derivative of
f(x + ε₁v + ε₂w), pushed forward with v and every w at once (:func:`harness.truth.quad.mixed_taylor`;
polarisation, (q(w + v) − q(w − v))/4 with q(u) = uᵀHu, took twice the work).  Projections
are computed in quad, so
the grading adds no rounding of its own.  Errors then follow :mod:`harness.truth.accuracy` over
the graded numbers; the ``reference`` column says how many there were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from harness.model.case import Case
from harness.truth import quad

DIRECTIONS = 4
SAMPLE = 16
QUANTITIES = ("gradient", "vjp", "jacobian", "hvp", "jvp")
TEXT_COMPONENTS = 16


def available() -> bool:
    try:
        quad.quad_dtype()
    except ImportError:
        return False
    return True


def applies(case: Case, quantity: str) -> bool:
    """Whether this reference can grade ``quantity`` of ``case`` here."""
    return case.dim > 1 and quantity in QUANTITIES and available()


def sample(case: Case) -> np.ndarray:
    """The fixed sample of coordinates whose entries are graded one by one."""
    n = case.dim
    return np.sort(np.random.default_rng(0).choice(n, size=min(SAMPLE, n), replace=False))


def weights(case: Case) -> np.ndarray:
    """(D, n): the random directions, then the unit vectors of the sampled coordinates."""
    n = case.dim
    random = np.random.default_rng(0).standard_normal((DIRECTIONS, n))
    picked = sample(case)
    units = np.zeros((len(picked), n))  # rows of the identity, without building it (n = 10⁶)
    units[np.arange(len(picked)), picked] = 1.0
    return np.concatenate([random, units])


def _rows(case: Case, quantity: str, point: np.ndarray):
    """The graded numbers at one point, as a quad vector, and the value of f there."""
    if quantity == "jvp":
        c0, c1, _ = quad.taylor(case, point, case.tangent()[None])
        return np.reshape(c1[0], -1), c0
    w = weights(case)
    if quantity == "hvp":
        c0, mixed = quad.mixed_taylor(case, point, case.tangent(), w)
        return mixed, c0
    c0, c1, _ = quad.taylor(case, point, w)
    if quantity == "gradient":
        return c1, c0
    if quantity == "vjp":  # uᵀ(J·v): u weights the outputs
        return quad.qmatmul(c1, quad.to_quad(case.cotangent())), c0
    return np.reshape(c1.T, -1), c0  # jacobian: (m, D), output by output


@dataclass(frozen=True)
class Projection:
    """A method's values at the graded points → the numbers the reference grades (picklable:
    a worker process is handed the reference)."""

    quantity: str
    weights: np.ndarray  # (D, n) float64

    def __call__(self, values) -> tuple[np.ndarray, np.ndarray]:
        return project(self.quantity, self.weights, values)


def project(quantity: str, weights_: np.ndarray, values) -> tuple[np.ndarray, np.ndarray]:
    """A method's values at the graded points as the numbers the reference grades: (hi, lo),
    each (N, G), the double-double split of the quad projection."""
    if quantity == "jvp":
        flat = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        return flat, np.zeros_like(flat)
    w = quad.to_quad(weights_)
    hi, lo = zip(*(quad.split(projected(quantity, w, value)) for value in values))
    return np.stack(hi), np.stack(lo)


def projected(quantity: str, w, value) -> np.ndarray:
    """One point's value (float64, quad, or a scipy.sparse Jacobian) projected in quad on the
    directions ``w`` (quad, (D, n)): J·Wᵀ flattened output by output, else W·value."""
    if hasattr(value, "tocsr"):
        csr = value.tocsr()
        csr.sort_indices()
        products = quad.to_quad(csr.data)[:, None] * w.T[csr.indices]  # (nnz, D)
        out = quad.to_quad(np.zeros((csr.shape[0], w.shape[0])))
        filled = np.flatnonzero(np.diff(csr.indptr))  # rows with at least one entry
        if len(filled):
            out[filled] = np.add.reduceat(products, csr.indptr[filled], axis=0)
        return np.reshape(out, -1)
    value = np.asarray(value)
    value = value if value.dtype == w.dtype else quad.to_quad(value)
    if quantity == "jacobian":
        return np.reshape(quad.qmatmul(value, np.ascontiguousarray(w.T)), -1)
    return quad.qmatmul(w, value)


def signed_or_norm(value) -> float:
    """f's value as the points table keeps it: signed for a scalar, else its largest magnitude."""
    flat = np.reshape(np.asarray(value, dtype=np.float64), -1)
    if flat.size == 0:
        return np.nan
    return float(flat[0]) if flat.size == 1 else float(np.max(np.abs(flat)))


def graded_numbers(case: Case, quantity: str, x: np.ndarray):
    """At each point of ``x``: the reference's graded numbers (quad, (N, G)), f's value (float64,
    (N,): signed for a scalar f, the largest magnitude of a vector one) and per-point text."""
    rows, f, text = [], [], []
    for point in np.asarray(x, dtype=np.float64):
        r, c0 = _rows(case, quantity, point)
        rows.append(r)
        f.append(signed_or_norm(c0))
        text.append(_text(r))
    return np.stack(rows), np.asarray(f), text


def _text(r) -> str:
    if len(r) == 1:
        return str(r[0])
    if len(r) > TEXT_COMPONENTS:
        return ""
    return json.dumps([str(v) for v in r])


def description(case: Case, quantity: str) -> str:
    if quantity == "jvp":
        return "quad-precision forward mode (numpy-quaddtype), every entry"
    what = {"gradient": "∇f·v", "vjp": "uᵀJ·v", "jacobian": "J·v", "hvp": "wᵀH·v"}[quantity]
    entries = "columns" if quantity == "jacobian" else "entries"
    return (f"quad-precision forward mode (numpy-quaddtype): {what} along {DIRECTIONS} random "
            f"directions and {len(sample(case))} sampled {entries}")
