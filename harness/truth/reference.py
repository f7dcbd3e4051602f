"""High-precision reference derivatives, independent of every method under test.

Each value is mpmath's numerical derivative of the case evaluated in mpmath at
``DPS`` significant digits (``mpmath.diff`` raises its own working precision
further): the n-th derivative of a scalar case, and for a vector case every
partial derivative a quantity needs (a jvp is the derivative along its
direction).  Where SymPy gives an exact derivative, that expression is
evaluated in mpmath at the same precision and the two must agree to
``AGREE_DIGITS`` digits, or the reference is refused.  When a quantity has
more entries than ``MPMATH_BUDGET`` (a large Hessian), SymPy's exact
derivative evaluated at ``DPS`` digits is the reference and mpmath.diff checks
a fixed sample of ``SAMPLE`` entries spread over the points; a case's hand-written closed form
(``Case.closed_forms``) stands in for SymPy where even SymPy cannot afford the
entries (a gradient in 10⁴ dimensions).  The ``kind`` says which.  At a declared
kink the derivative does not exist: the reference says so.

Values are handed on as double-double pairs (``hi + lo``) so that an error
against a float64 result is exact to far below float64's resolution, and as
text with ``TEXT_DIGITS`` significant digits for anyone re-checking a figure.

Each reference computed is kept on disk (:mod:`harness.truth.cache`), keyed by everything it
depends on, and a later run at the same points takes it from there instead of computing it
again (``reuse=False``: computed afresh, and kept in its place).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.model import partials
from harness.model.case import Case
from harness.model.namespaces import namespace
from harness.model.partials import select_output, sympy_derivatives
from harness.model.quantities import value_shape
from harness.truth import cache, directional

DPS = 60
AGREE_DIGITS = 40
TEXT_DIGITS = 36
MPMATH_BUDGET = 3000  # entries × points (× n/10 beyond n = 10) for mpmath.diff before switching to SymPy
SYMPY_MAX_DIM = 100  # beyond, SymPy's n partials of an n-term expression cost minutes: closed forms only
# from this dimension on, a case's closed form (when it has one) is the exact source rather than
# SymPy, whose n partials of an n-term sum took a minute at n = 100 (n ≤ 10 still cross-checks
# mpmath.diff against SymPy in full)
CLOSED_FORM_DIM = 20
MPMATH_WORK_BUDGET = 1e6  # entries × points × a workload's arithmetic per evaluation (Case.work)
SAMPLE = 40  # entries checked by mpmath.diff when SymPy or a closed form gives the rest
TEXT_COMPONENTS = 16  # vector values longer than this keep no per-point text


class ReferenceMismatch(RuntimeError):
    """The two independent references disagree: no figure can be trusted."""


@dataclass
class Reference:
    x: np.ndarray  # the points, float64 (exactly the points the method saw)
    hi: np.ndarray  # float64 nearest to the derivative (NaN where undefined), value shape
    lo: np.ndarray  # the remainder: derivative = hi + lo to ~32 digits
    f: np.ndarray  # the function value at each point, float64: signed (∞-norm for vector outputs)
    defined: np.ndarray  # per point; False at kinks
    text: list  # per point: the derivative to TEXT_DIGITS digits, or 'undefined'
    kind: str  # which independent sources produced and checked it
    # a method's values at these points → (hi, lo) of the numbers graded, when the reference
    # grades projections (directional derivatives, sampled entries) rather than every entry
    project: Callable | None = None
    # read from the disk cache (computed by an earlier run) rather than computed in this run
    from_cache: bool = False


class NoReference(RuntimeError):
    """No independent reference can be computed for this quantity here."""


_cache: dict = {}


def _component(case: Case, k):
    """The mpmath scalar function of the point's coordinates for entry output ``k``."""
    mp_ns = namespace("mpmath")

    def f(*args):
        x = args[0] if case.dim == 1 else np.array(args, dtype=object)
        return select_output(case, case.fn(mp_ns, x), k)

    return f


def _mp_entry(case: Case, k, orders, point):
    import mpmath

    f = _component(case, k)
    if orders is None:  # directional derivative along the tangent
        v = [mpmath.mpf(t) for t in case.tangent()]
        return mpmath.diff(lambda t: f(*[p + t * vi for p, vi in zip(point, v)]), 0)
    if case.dim == 1:
        return mpmath.diff(f, point[0], orders[0])
    return mpmath.diff(f, tuple(point), orders)


def _sympy_entries(case: Case, quantity: str, order: int):
    """SymPy's exact derivative as an mpmath function point ↦ every entry, or None."""
    try:
        import sympy
    except ImportError:
        return None
    xs, derivatives = sympy_derivatives(case, quantity, order, real=True)
    if any(d.has(sympy.Derivative) for d in derivatives):
        return None
    # one function for every entry, its common subexpressions computed once: a gradient's
    # entries share most of their terms, and printing each entry on its own took 10× longer
    every_entry = sympy.lambdify(xs, derivatives, "mpmath", cse=True)
    return lambda *point: list(every_entry(*point))


def mpmath_exact(value: float):
    import mpmath

    return mpmath.mpf(float(value))


def _closed_form(case: Case, quantity: str):
    """The case's hand-written derivative as an mpmath function point ↦ entries, or None.

    A vjp of a scalar-valued case is u·∇f, a jvp ∇f·v.  One O(n) pass gives every entry."""
    forms = dict(case.closed_forms)
    mp_ns = namespace("mpmath")
    if case.out_dim == 1 and "gradient" in forms and quantity in ("vjp", "jvp"):
        gradient = forms["gradient"]
        if quantity == "vjp":  # u·∇f, u = ±1
            u = int(case.cotangent()[0])
            return lambda *point: list(u * gradient(mp_ns, np.array(point, dtype=object)))
        v = [mpmath_exact(t) for t in case.tangent()]  # ∇f·v, v exact in binary
        return lambda *point: [sum(g * t for g, t in zip(gradient(mp_ns, np.array(point, dtype=object)), v))]
    if quantity not in forms:
        return None
    fn = forms[quantity]
    return lambda *point: list(np.ravel(fn(mp_ns, np.array(point, dtype=object))))


def _agree(a, b, where: str):
    import mpmath

    if abs(a - b) > mpmath.mpf(10) ** -AGREE_DIGITS * max(1, abs(b)):
        raise ReferenceMismatch(
            f"{where}: mpmath.diff gives {mpmath.nstr(a, 20)}, SymPy's derivative {mpmath.nstr(b, 20)}"
        )


def _text(values) -> str:
    import mpmath

    if len(values) == 1:
        return mpmath.nstr(values[0], TEXT_DIGITS, min_fixed=-5, max_fixed=5)
    if len(values) > TEXT_COMPONENTS:
        return ""
    return json.dumps([mpmath.nstr(v, TEXT_DIGITS) for v in values])


def _key(case: Case, order: int, x: np.ndarray, quantity: str) -> tuple:
    return (case.name, case.fn, case.dim, quantity, order, np.asarray(x, dtype=np.float64).tobytes())


def remember(case: Case, order: int, x: np.ndarray, quantity: str, ref: Reference) -> None:
    """Take ``ref`` as the reference at ``x`` (computed elsewhere: a worker process is handed
    the parent's, rather than every backend's worker computing its own)."""
    _cache[_key(case, order, x, quantity)] = ref


def reference(case: Case, order: int, x: np.ndarray, quantity: str = "derivative",
              reuse: bool = True) -> Reference:
    """The reference ``quantity`` (of ``order`` for a derivative) at each of the points ``x``: the
    one cached on disk by an earlier run where there is one (:mod:`harness.truth.cache`), else
    computed here and cached.  ``reuse=False`` takes none from the disk, computes it afresh and
    caches that in its place (a reference this process computed itself is still shared)."""

    x = np.asarray(x, dtype=np.float64)
    key = _key(case, order, x, quantity)
    found = _cache.get(key)
    if found is not None and (reuse or not found.from_cache):
        return found
    # None: a case with no source file is not cached
    entry = cache.entry(case, order, x, quantity, cache.settings(sys.modules[__name__]))
    fields = cache.load(entry, x) if reuse and entry is not None else None
    if fields is not None:
        ref = Reference(x, **fields, from_cache=True)
    else:
        ref = _reference(case, order, x, quantity)
        if entry is not None:
            cache.save(entry, ref)
    _cache[key] = ref
    return ref


def scalable(case: Case, x: np.ndarray, quantity: str) -> Reference:
    """The directional reference in quad precision (:mod:`harness.truth.directional`)."""
    numbers, fv, text = directional.graded_numbers(case, quantity, x)
    hi, lo = directional.quad.split(numbers)
    return Reference(x, hi, lo, fv, np.ones(len(x), dtype=bool), text,
                     directional.description(case, quantity),
                     project=directional.Projection(quantity, directional.weights(case)))


CROSS_CHECK_DIGITS = 25  # mpmath at 60 digits against quad's ~33, wherever both run


def _cross_check(case: Case, quantity: str, ref: Reference) -> str:
    """mpmath's every entry against the quad reference's graded numbers: they must agree to
    CROSS_CHECK_DIGITS digits, or no figure can be trusted.  Returns the kind's addition."""
    quad = directional.quad
    numbers, _, _ = directional.graded_numbers(case, quantity, ref.x)
    exact = quad.to_quad(ref.hi) + quad.to_quad(ref.lo)
    if quantity == "jvp":
        projected = exact.reshape(len(exact), -1)
    else:
        w = quad.to_quad(directional.weights(case))
        projected = np.stack([directional.projected(quantity, w, value) for value in exact])
    scale = np.max(np.abs(numbers.astype(np.float64)), initial=0.0) or 1.0
    worst = float(np.max(np.abs((projected - numbers).astype(np.float64)))) / scale
    if worst > 10.0 ** -CROSS_CHECK_DIGITS:
        raise ReferenceMismatch(f"{case.name} {quantity}: mpmath and the quad-precision reference differ "
                                f"by {worst:.2g} relative to the largest graded number")
    return f", cross-checked against quad-precision forward mode to {CROSS_CHECK_DIGITS} digits"


def _reference(case: Case, order: int, x: np.ndarray, quantity: str) -> Reference:
    import mpmath

    if quantity == "hvp":  # only the quad reference composes second directional derivatives
        if not directional.applies(case, quantity):
            raise NoReference("an hvp's reference needs numpy-quaddtype (quad-precision forward mode)")
        return scalable(case, x, quantity)
    n_points = x.shape[0]
    shape = value_shape(case, quantity, n_points)
    count = int(np.prod(shape[1:]))  # entries per point (listed below only where mpmath runs)
    # mpmath.diff evaluates f (O(n) work) a few times per entry and point
    affordable = count * n_points * max(1.0, case.dim / 10) <= MPMATH_BUDGET and (
        case.work is None or count * n_points * case.work <= MPMATH_WORK_BUDGET)
    closed = _closed_form(case, quantity)
    if closed is None and not affordable and directional.applies(case, quantity):
        return scalable(case, x, quantity)
    entries = partials.entries(case, quantity, order)
    if closed is not None and (not affordable or case.dim >= CLOSED_FORM_DIM):
        exact = closed
    else:
        closed = None
        symbolic = case.exact_reference and case.dim <= SYMPY_MAX_DIM
        exact = _sympy_entries(case, quantity, order) if symbolic else None
    use_mpmath = exact is None or affordable
    checked = np.ones((n_points, len(entries)), dtype=bool)  # which (point, entry) mpmath.diff computes
    if not use_mpmath:  # a fixed sample of entries, spread over the points, checked by mpmath.diff
        checked[:] = False
        sample = np.random.default_rng(0).choice(len(entries), size=min(SAMPLE, len(entries)), replace=False)
        checked[np.arange(len(sample)) % n_points, sample] = True
    hi = np.full((n_points, len(entries)), np.nan)
    lo = np.full_like(hi, np.nan)
    fv = np.full(n_points, np.nan)
    defined = np.ones(n_points, dtype=bool)
    text = []
    with mpmath.workdps(DPS):
        for p in range(n_points):
            point = [mpmath.mpf(v) for v in np.atleast_1d(x[p])]
            y = _component(case, None)(*point)
            fv[p] = directional.signed_or_norm([float(v) for v in np.atleast_1d(y)])
            if case.on_kink(x[p]):
                defined[p] = False
                text.append("undefined")
                continue
            values = []
            exact_values = exact(*point) if exact is not None else None
            for e, (k, orders) in enumerate(entries):
                d = _mp_entry(case, k, orders, point) if checked[p, e] else None
                if exact is not None:
                    s = mpmath.mpf(exact_values[e])
                    if d is not None:
                        _agree(d, s, f"{case.name} {quantity} order {order} at point {p}, entry {e}")
                    d = d if use_mpmath else s
                values.append(d)
            hi[p] = [float(v) for v in values]
            lo[p] = [float(v - mpmath.mpf(h)) for v, h in zip(values, hi[p])]
            text.append(_text(values))
    source = "closed form" if closed else "sympy exact"
    if use_mpmath:
        kind = f"mpmath.diff, checked against {source.split()[0]}" if exact is not None else "mpmath.diff"
    else:
        kind = f"{source} at {DPS} digits, {checked.sum()} entries checked by mpmath.diff"
    ref = Reference(x, hi.reshape(shape), lo.reshape(shape), fv, defined, text, kind)
    if not case.exact_reference and directional.applies(case, quantity) and defined.all():
        ref.kind += _cross_check(case, quantity, ref)
    return ref
