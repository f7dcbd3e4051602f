"""Higher-order stencils, the complex step and Richardson extrapolation, on NumPy.

All three are vectorised over the points: a scalar case is applied to every
shifted copy of the points at once, and a vector case to an (N, n, n) array
holding, for each point, its n coordinate-perturbed copies, so one call of f
per stencil offset gives every partial derivative at every point.

* ``central4``: (f(x−2h) − 8f(x−h) + 8f(x+h) − f(x+2h))/12h has truncation
  error O(h⁴f⁽⁵⁾) against rounding O(ε·f/h): h ≈ ε^(1/5)·max(1, |x|).  The
  5-point second derivative has O(h⁴f⁽⁶⁾) against O(ε·f/h²): h ≈ ε^(1/6).
  Steps are the representable ones, (x + h) − x, as in ``finite_diff``.
* ``complex-step``: Im f(x + ih)/h has no subtraction, so h can be tiny
  (1e-200 in complex128, 1e-30 in complex64) and the result is exact to
  rounding — for analytic code only.  NumPy's abs of a complex number is the
  modulus, so |x + ih| is real and the "derivative" of abs comes out 0: the
  method is wrong there and the harness shows it.
* ``richardson``: a Neville table of central differences at h, h/2, h/4, …,
  extrapolated in h² (the central difference's error has even powers only),
  with Ridders' error estimate plus a rounding term; each point stops when its
  estimate stops decreasing.  :func:`richardson_derivative` returns the estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.model.method import Cell, Evaluator
from harness.model.namespaces import namespace


def case_function(cell: Cell) -> Callable:
    """The cell's case as a NumPy function of an array of points."""
    xp = namespace("numpy")
    return lambda x: cell.case.fn(xp, x)


def representable_step(x: np.ndarray, c) -> np.ndarray:
    """c·max(1, |x|) rounded so that x + h is exact: the step divided by is the true one."""
    h = c * np.maximum(1, np.abs(x))
    return (x + h) - x


def coordinate_shifts(x: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(N, n, n) points: row i of point k is x[k] with coordinate i moved by shift[k, i]."""
    eye = np.eye(x.shape[-1], dtype=x.dtype)
    return x[:, None, :] + shift[:, :, None] * eye


# These stencils build all (N, n, n) shifted points at once (forward/backward/central take theirs
# in blocks of coordinates instead): their declarations refuse a gradient or Jacobian beyond this
MAX_STENCIL_ELEMENTS = 2**27  # 1 GiB of float64 per (N, n, n) array


def as_jacobian(partials: np.ndarray, out_dim: int) -> np.ndarray:
    """(N, n) or (N, n, m) partials → gradient (N, n) or Jacobian (N, m, n)."""
    return partials if out_dim == 1 else np.swapaxes(partials, 1, 2)


# --- central4 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stencil:
    offsets: tuple[int, ...]
    weights: tuple[int, ...]
    divisor: int
    power: int  # the derivative order: divide by h**power
    root: int  # h ≈ ε**(1/root)·max(1, |x|)

    def apply(self, f: Callable, x: np.ndarray, h: np.ndarray, shift: Callable | None = None):
        """Σ wₛ f(x + s·h) / (divisor·hᵖ); ``shift(x, s·h)`` places the offsets (default x + s·h)."""
        place = shift or (lambda x, d: x + d)
        total = sum(w * f(place(x, s * h)) for s, w in zip(self.offsets, self.weights) if w)
        scale = self.divisor * h**self.power
        return total / (scale if total.ndim == scale.ndim else scale[..., None])


CENTRAL4 = {
    1: Stencil((-2, -1, 1, 2), (1, -8, 8, -1), 12, 1, 5),
    2: Stencil((-2, -1, 0, 1, 2), (-1, 16, -30, 16, -1), 12, 2, 6),
}


def prepare_central4(cell: Cell) -> Evaluator:
    f = case_function(cell)
    eps = np.finfo(cell.dtype).eps
    order = cell.order if cell.quantity == "derivative" else 1
    stencil = CENTRAL4[order]
    c = np.asarray(eps ** (1 / stencil.root), dtype=cell.dtype)
    info = {"step": f"ε^(1/{stencil.root})·max(1, |x|) = {float(c):.3g}·max(1, |x|), representable",
            "evaluations": f"{len(stencil.offsets)} calls of f, each on all points"}

    if cell.quantity == "derivative":
        def derivative(x):
            return stencil.apply(f, x, representable_step(x, c))

        return Evaluator(call=derivative, info=info)

    out_dim = cell.case.out_dim

    def partials(x):
        return as_jacobian(stencil.apply(f, x, representable_step(x, c), coordinate_shifts), out_dim)

    info["evaluations"] = f"4 calls of f, each on (N, n, n) coordinate-shifted points (n = {cell.case.dim})"
    return Evaluator(call=partials, info=info)


# --- complex step -----------------------------------------------------------------------------------

# Tiny steps (there is no subtraction to fear) that still keep h·f′ far above the smallest
# normal number of the precision (2.2e-308 in float64, 1.2e-38 in float32).
COMPLEX_STEP = {"float64": (np.complex128, 1e-200), "float32": (np.complex64, 1e-30)}


def complex_points(x: np.ndarray, imag, ctype) -> np.ndarray:
    """x + i·imag in ``ctype`` (assigned part by part: no rounding of x, no upcast)."""
    z = np.empty(np.broadcast_shapes(x.shape, np.shape(imag)), dtype=ctype)
    z.real = x
    z.imag = imag
    return z


def prepare_complex_step(cell: Cell) -> Evaluator:
    f = case_function(cell)
    ctype, step = COMPLEX_STEP[cell.dtype]
    h = np.asarray(step, dtype=cell.dtype)
    info = {"step": f"h = {step:g} in {np.dtype(ctype).name}",
            "caveat": "exact only for analytic code: NumPy's abs(x + ih) is the modulus (Im = 0)"}
    quantity = cell.quantity
    if quantity == "derivative":
        def derivative(x):
            return np.imag(f(complex_points(x, h, ctype))) / h

        return Evaluator(call=derivative, info=info)
    if quantity in ("gradient", "jacobian"):
        eye = np.eye(cell.case.dim, dtype=cell.dtype) * h
        out_dim = cell.case.out_dim

        def partials(x):
            z = complex_points(np.broadcast_to(x[:, None, :], (*x.shape[:1], *eye.shape)), eye, ctype)
            return as_jacobian(np.imag(f(z)) / h, out_dim)

        info["evaluations"] = f"1 call of f on (N, n, n) complex points (n = {cell.case.dim})"
        return Evaluator(call=partials, info=info)
    hv = (cell.case.tangent() * step).astype(cell.dtype)  # the jvp: a step of h along v

    def jvp(x):
        return np.imag(f(complex_points(x, hv, ctype))) / h

    return Evaluator(call=jvp, info=info)


# --- Richardson extrapolation -----------------------------------------------------------------------

H0 = 0.1  # first step, times max(1, |x|): well inside the radius where Taylor's series converges
SHRINK = 2.0
MAX_LEVELS = 12
# Rounding in an entry, in units of its difference's noise ε·Σ|wᵢfᵢ|/|denominator|: a few ulps
# of error in each f value, times the table's amplification of them (Σ|coefficients| < 2).
ROUNDING = 4.0


def neville(difference: Callable, h0: np.ndarray, shrink: float = SHRINK, max_levels: int = MAX_LEVELS):
    """Extrapolate ``difference(idx, h) -> (D, h_used, noise)`` to h = 0; (value, error estimate).

    ``h0`` has the shape of the result, points along axis 0; ``difference``
    is asked only for the points ``idx`` still active, and says how large the
    rounding in D is (``noise``).  T[k, j] extrapolates the table in h² with
    the steps actually used.  An entry's error estimate is Ridders' (the larger
    of its distances to the two entries it came from: truncation) plus
    ``ROUNDING``·noise of the level's smallest step (rounding).  A point stops
    at the first level whose best entry is no better than its best so far:
    past that, rounding grows faster than truncation falls.
    """
    n_points = h0.shape[0]
    d0, used, _ = difference(np.arange(n_points), h0)
    best = d0.copy()
    err = np.full(h0.shape, np.inf, dtype=h0.dtype)
    previous, steps = [d0], [used]  # the table's last row; the steps of every level
    active = np.ones(n_points, dtype=bool)
    h = h0
    for level in range(1, max_levels):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        h = h / shrink
        d, used_now, noise = difference(idx, h[idx])
        steps.append(_scatter(used_now, idx, h0))
        rounding = ROUNDING * noise
        new_row, row_err, row_best = [d], np.full(d.shape, np.inf, dtype=d.dtype), d
        for j in range(1, level + 1):
            below = previous[j - 1][idx]
            ratio = (steps[level - j][idx] / used_now) ** 2
            t = new_row[j - 1] + (new_row[j - 1] - below) / (ratio - 1)
            e = np.maximum(np.abs(t - new_row[j - 1]), np.abs(t - below)) + rounding
            better = e < row_err
            row_err, row_best = np.where(better, e, row_err), np.where(better, t, row_best)
            new_row.append(t)
        improved = row_err < err[idx]
        best[idx] = np.where(improved, row_best, best[idx])
        err[idx] = np.where(improved, row_err, err[idx])
        still = improved.reshape(len(idx), -1).any(axis=1)
        active[idx[~still]] = False
        previous = [_scatter(t, idx, h0) for t in new_row]
    return best, err


def _scatter(values: np.ndarray, idx: np.ndarray, like: np.ndarray) -> np.ndarray:
    full = np.full_like(like, np.nan)
    full[idx] = values
    return full


def richardson_derivative(f: Callable, x, order: int = 1, h0: float = H0, shrink: float = SHRINK,
                          max_levels: int = MAX_LEVELS):
    """f⁽ᵒʳᵈᵉʳ⁾ at each point of x (order 1 or 2) and an estimate of its error.

    ``f`` is elementwise.  The first step is h0·max(1, |x|); each level divides
    it by ``shrink``.  Returns (value, error_estimate), both shaped like x.
    """
    x = np.asarray(x)
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
    eps = np.finfo(x.dtype).eps
    if order == 1:
        def difference(idx, h):
            xi = x[idx]
            up, down = xi + h, xi - h
            f_up, f_down = f(up), f(down)
            width = up - down
            return (f_up - f_down) / width, width / 2, eps * (np.abs(f_up) + np.abs(f_down)) / width
    elif order == 2:
        fx = f(x)

        def difference(idx, h):
            xi = x[idx]
            h = (xi + h) - xi
            f_up, f_mid, f_down = f(xi + h), fx[idx], f(xi - h)
            h2 = h * h
            noise = eps * (np.abs(f_up) + 2 * np.abs(f_mid) + np.abs(f_down)) / h2
            return (f_up - 2 * f_mid + f_down) / h2, h, noise
    else:
        raise ValueError(f"order must be 1 or 2, got {order}")
    start = np.asarray(h0, dtype=x.dtype) * np.maximum(1, np.abs(x))
    return neville(difference, start, shrink, max_levels)


def richardson_gradient(f: Callable, x, h0: float = H0, shrink: float = SHRINK, max_levels: int = MAX_LEVELS):
    """∇f at each row of x (N, n), f mapping (..., n) → (...); (value, error_estimate), both (N, n)."""
    x = np.asarray(x)
    eps = np.finfo(x.dtype).eps

    def difference(idx, h):
        xi = x[idx]
        up, down = (xi + h) - xi, xi - (xi - h)  # the steps actually taken either way
        f_up, f_down = f(coordinate_shifts(xi, up)), f(coordinate_shifts(xi, -down))
        width = up + down
        return (f_up - f_down) / width, width / 2, eps * (np.abs(f_up) + np.abs(f_down)) / width

    start = np.asarray(h0, dtype=x.dtype) * np.maximum(1, np.abs(x))
    return neville(difference, start, shrink, max_levels)


def prepare_richardson(cell: Cell) -> Evaluator:
    f = case_function(cell)
    info = {"steps": f"{H0:g}·max(1, |x|)/{SHRINK:g}^k, k < {MAX_LEVELS}, extrapolated in h²",
            "stop": "per point, when Ridders' error estimate stops decreasing"}
    if cell.quantity == "derivative":
        return Evaluator(call=lambda x: richardson_derivative(f, x, cell.order)[0], info=info)
    return Evaluator(call=lambda x: richardson_gradient(f, x)[0], info=info)  # the gradient
