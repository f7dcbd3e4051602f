"""High-precision reference derivatives, independent of every method under test.

Each value is mpmath's numerical derivative of the case evaluated in mpmath at
``DPS`` significant digits (``mpmath.diff`` raises its own working precision
further).  Where SymPy can give an exact derivative, that expression is
evaluated in mpmath at the same precision and the two must agree to
``AGREE_DIGITS`` digits, or the reference is refused.  At a declared kink the
derivative does not exist: the reference says so and no error is computed.

Values are handed on as double-double pairs (``hi + lo``) so that an error
against a float64 result is exact to far below float64's resolution, and as
text with ``TEXT_DIGITS`` significant digits for anyone re-checking a figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.extend import Case
from harness.namespaces import namespace

DPS = 60
AGREE_DIGITS = 40
TEXT_DIGITS = 36


class ReferenceMismatch(RuntimeError):
    """The two independent references disagree: no figure can be trusted."""


@dataclass
class Reference:
    x: np.ndarray  # the points, float64 (exactly the points the method saw)
    hi: np.ndarray  # float64 nearest to the derivative (NaN where undefined)
    lo: np.ndarray  # the remainder: derivative = hi + lo to ~32 digits
    f: np.ndarray  # the function value, float64, for plots
    defined: np.ndarray  # False at kinks
    text: list  # the derivative to TEXT_DIGITS digits ('undefined' at kinks)
    kind: str  # which independent sources produced and checked it


_cache: dict = {}


def _sympy_derivative(case: Case, order: int):
    """SymPy's exact n-th derivative as an mpmath function, or None."""
    try:
        import sympy
    except ImportError:
        return None
    x = sympy.Symbol("x", real=True)  # real: |x|' is sign(x), not an unevaluated Derivative
    expr = sympy.diff(case.fn(namespace("sympy"), x), x, order)
    if expr.has(sympy.Derivative):
        return None
    return sympy.lambdify(x, expr, "mpmath")


def _point(case: Case, order: int, x: float):
    import mpmath

    key = (case.name, case.fn, order, x)
    if key not in _cache:
        mp_ns = namespace("mpmath")
        with mpmath.workdps(DPS):
            xm = mpmath.mpf(x)
            f = case.fn(mp_ns, xm)
            if x in case.kinks:
                _cache[key] = (None, f)
            else:
                _cache[key] = (mpmath.diff(lambda t: case.fn(mp_ns, t), xm, order), f)
    return _cache[key]


def reference(case: Case, order: int, x: np.ndarray) -> Reference:
    """The reference n-th derivative of ``case`` at each of the points ``x``."""
    import mpmath

    x = np.asarray(x, dtype=np.float64)
    exact = _sympy_derivative(case, order)
    hi, lo, fv = (np.full(x.shape, np.nan) for _ in range(3))
    text = []
    defined = np.ones(x.shape, dtype=bool)
    with mpmath.workdps(DPS):
        for i, xi in enumerate(x.tolist()):
            d, f = _point(case, order, xi)
            fv[i] = float(f)
            if d is None:
                defined[i] = False
                text.append("undefined")
                continue
            if exact is not None:
                e = mpmath.mpf(exact(mpmath.mpf(xi)))
                if abs(e - d) > mpmath.mpf(10) ** -AGREE_DIGITS * max(1, abs(e)):
                    raise ReferenceMismatch(
                        f"{case.name} order {order} at x={xi!r}: mpmath.diff gives "
                        f"{mpmath.nstr(d, 20)}, SymPy's derivative {mpmath.nstr(e, 20)}"
                    )
            hi[i] = float(d)
            lo[i] = float(d - mpmath.mpf(hi[i]))
            text.append(mpmath.nstr(d, TEXT_DIGITS, min_fixed=-5, max_fixed=5))
    kind = "mpmath.diff, checked against sympy" if exact is not None else "mpmath.diff"
    return Reference(x, hi, lo, fv, defined, text, kind)
