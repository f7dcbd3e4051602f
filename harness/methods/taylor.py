"""Forward-mode automatic differentiation by truncated Taylor arithmetic on NumPy arrays.

A :class:`Taylor` holds, for every point at once, the Taylor coefficients of a value
along one seed direction t: ``c[k] = (d/dt)ᵏ f / k!`` for k = 0..K, stored as one
array of shape (K+1, *shape) — the coefficient axis first, then the value axes.
Seeding x with ``[x, 1, 0, …]`` (:meth:`Taylor.variable`) and evaluating a case
gives f⁽ᵏ⁾(x) = k!·c[k]; K = 1 is the dual numbers a + b·ε.

Arithmetic truncates at order K.  The elementary functions in :data:`taylor_xp`
use the standard recurrences from their differential equations (Griewank &
Walther, *Evaluating Derivatives*, ch. 13): a loop over the K orders, each step
vectorised over all points.  The dtype of the seed is kept (float32 stays float32).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

__all__ = ["Taylor", "taylor_xp"]

_SCALARS = (int, float, np.integer, np.floating)


class Taylor:
    """Truncated Taylor polynomials, one per entry of an array: coefficients ``c`` of shape (K+1, *shape)."""

    __array_priority__ = 1000.0  # numpy scalars and arrays on the left defer to our operators
    __array_ufunc__ = None  # ... and ufuncs refuse us rather than making object arrays
    device = "cpu"  # for harness.model.namespaces.constant (array_api_compat.device)

    def __init__(self, coeffs):
        self.c = np.asarray(coeffs)

    @classmethod
    def variable(cls, x, order: int, direction=1) -> Taylor:
        """The seed x + direction·t, truncated at ``order``: coefficients [x, direction, 0, …]."""
        x = np.asarray(x)
        c = np.zeros((order + 1, *x.shape), x.dtype)
        c[0] = x
        if order:
            c[1] = direction
        return cls(c)

    @property
    def order(self) -> int:
        return len(self.c) - 1

    @property
    def shape(self) -> tuple:
        return self.c.shape[1:]

    @property
    def ndim(self) -> int:
        return self.c.ndim - 1

    @property
    def dtype(self):
        return self.c.dtype

    def derivative(self, k: int) -> np.ndarray:
        """The k-th derivative along the seed: k!·c[k]."""
        return self.c[k] * math.factorial(k)

    def __repr__(self) -> str:
        return f"Taylor(order={self.order}, shape={self.shape}, dtype={self.dtype})"

    # -- arithmetic ---------------------------------------------------------------

    def __neg__(self):
        return Taylor(-self.c)

    def __pos__(self):
        return self

    def __add__(self, other):
        if isinstance(other, Taylor):
            a, b = _aligned(self, other)
            return Taylor(a + b)
        if not _is_constant(other):
            return NotImplemented
        a = self._coeffs(np.ndim(other))
        out = np.empty((len(a), *np.broadcast_shapes(a.shape[1:], np.shape(other))), np.result_type(a, other))
        np.add(a[0], other, out=out[0])  # a constant moves only the value, not the derivatives
        out[1:] = a[1:]
        return Taylor(out)

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Taylor):
            a, b = _aligned(self, other)
            return Taylor(a - b)
        return self + (-other) if _is_constant(other) else NotImplemented

    def __rsub__(self, other):
        return (-self) + other if _is_constant(other) else NotImplemented

    def __mul__(self, other):
        if isinstance(other, Taylor):
            return Taylor(_mul(*_aligned(self, other)))
        return Taylor(self._coeffs(np.ndim(other)) * other) if _is_constant(other) else NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, Taylor):
            return Taylor(_div(*_aligned(self, other)))
        return Taylor(self._coeffs(np.ndim(other)) / other) if _is_constant(other) else NotImplemented

    def __rtruediv__(self, other):
        if not _is_constant(other):
            return NotImplemented
        b = self._coeffs(np.ndim(other))
        shape = np.broadcast_shapes(b.shape[1:], np.shape(other))
        return Taylor(_div(_lift(other, self.order, shape, np.result_type(b, other)), b))

    def __pow__(self, exponent):
        if isinstance(exponent, Taylor):
            return exp(log(self) * exponent)
        if not isinstance(exponent, _SCALARS):
            return NotImplemented
        if float(exponent).is_integer():  # exact products: no division by the value (x² at 0)
            return _int_power(self, int(exponent))
        return Taylor(_real_power(self.c, float(exponent)))

    def __rpow__(self, base):
        if not isinstance(base, _SCALARS):
            return NotImplemented
        return exp(self * math.log(base))  # math.log keeps a Python float: float32 stays float32

    def __matmul__(self, matrix):
        if isinstance(matrix, Taylor):  # both vary: the Cauchy product with @ for ×
            a, b = self.c, matrix.c
            return Taylor(np.stack([sum(a[j] @ b[k - j] for j in range(k + 1)) for k in range(len(a))]))
        if not _is_matrix(matrix):
            return NotImplemented
        return Taylor(self.c @ matrix)  # the coefficient axis is a batch axis of matmul

    def __rmatmul__(self, matrix):
        if not _is_matrix(matrix):
            return NotImplemented
        if self.ndim == 1:  # W @ v per coefficient: the vector is the last axis of c
            return Taylor(self.c @ matrix.T)
        return Taylor(matrix @ self.c)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        return Taylor(self.c[(slice(None), *key)])  # the coefficient axis is always kept

    # comparisons are of the values (a branch taken at the point), as NumPy arrays of bools
    def __lt__(self, other):
        return self.c[0] < _value(other)

    def __le__(self, other):
        return self.c[0] <= _value(other)

    def __gt__(self, other):
        return self.c[0] > _value(other)

    def __ge__(self, other):
        return self.c[0] >= _value(other)

    # -- helpers ------------------------------------------------------------------

    def _coeffs(self, ndim: int) -> np.ndarray:
        """c with value axes added in front so that it broadcasts against ``ndim``-d values."""
        missing = ndim - self.ndim
        if missing <= 0:
            return self.c
        return self.c.reshape((len(self.c),) + (1,) * missing + self.shape)


def _value(v):
    return v.c[0] if isinstance(v, Taylor) else v


def _is_constant(value) -> bool:
    return isinstance(value, (*_SCALARS, np.ndarray))


def _is_matrix(value) -> bool:
    """A constant vector or matrix: more axes would broadcast against the coefficient axis."""
    return isinstance(value, np.ndarray) and value.ndim in (1, 2)


def _aligned(a: Taylor, b: Taylor) -> tuple[np.ndarray, np.ndarray]:
    if a.order != b.order:
        raise ValueError(f"Taylor orders differ: {a.order} and {b.order}")
    ndim = max(a.ndim, b.ndim)
    return a._coeffs(ndim), b._coeffs(ndim)


def _empty(*arrays) -> np.ndarray:
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return np.empty(shape, np.result_type(*arrays))


def _mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cauchy product, truncated: (ab)_k = Σ_j a_j b_{k−j}."""
    out = _empty(a, b)
    for k in range(len(out)):
        np.multiply(a[0], b[k], out=out[k])
        for j in range(1, k + 1):
            out[k] += a[j] * b[k - j]
    return out


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """q = a/b from q·b = a: q_k = (a_k − Σ_{j≥1} b_j q_{k−j}) / b_0."""
    q = _empty(a, b)
    for k in range(len(q)):
        rest = a[k]
        for j in range(1, k + 1):
            rest = rest - b[j] * q[k - j]
        np.divide(rest, b[0], out=q[k])
    return q


def _lift(value, order: int, shape: tuple, dtype) -> np.ndarray:
    """A constant as coefficients [value, 0, 0, …] of the given value shape."""
    c = np.zeros((order + 1, *shape), dtype)
    c[0] = value
    return c


def _int_power(a: Taylor, n: int) -> Taylor:
    """aⁿ by products (exact where aⁿ is, and no division by a₀: x² is fine at 0)."""
    if n < 0:
        return 1 / _int_power(a, -n)
    if n == 0:
        return Taylor(_lift(1, a.order, a.shape, a.dtype))
    result = a
    for _ in range(n - 1):
        result = result * a
    return result


def _real_power(a: np.ndarray, r: float) -> np.ndarray:
    """p = aʳ from a·p' = r·p·a': p_k = Σ_{j=1..k} ((r+1)j − k) a_j p_{k−j} / (k a_0)."""
    p = np.empty_like(a)
    p[0] = a[0] ** r
    for k in range(1, len(a)):
        acc = ((r + 1) - k) * a[1] * p[k - 1]
        for j in range(2, k + 1):
            acc = acc + ((r + 1) * j - k) * a[j] * p[k - j]
        np.divide(acc, k * a[0], out=p[k])
    return p


def _chain(a: np.ndarray, g: np.ndarray, k: int) -> np.ndarray:
    """Σ_{j=1..k} j a_j g_{k−j} / k: coefficient k of f when f' = g·a'."""
    acc = a[1] * g[k - 1]
    for j in range(2, k + 1):
        acc = acc + j * a[j] * g[k - j]
    return acc / k if k > 1 else acc


# -- the namespace -----------------------------------------------------------------


def _elementwise(numpy_fn):
    """Make a rule on coefficient arrays a namespace function; constants go to NumPy's own."""

    def decorate(rule):
        def fn(x):
            return Taylor(rule(x.c)) if isinstance(x, Taylor) else numpy_fn(x)

        fn.__name__, fn.__doc__ = rule.__name__, rule.__doc__
        return fn

    return decorate


@_elementwise(np.exp)
def exp(a):
    """e' = e·a'."""
    e = np.empty_like(a)
    np.exp(a[0], out=e[0])
    for k in range(1, len(a)):
        e[k] = _chain(a, e, k)
    return e


def _sin_cos(a, want: str):
    """s' = c·a' and c' = −s·a', together: each needs the other one order lower.

    The last coefficient of the one not wanted is never needed, so it is not computed.
    """
    s, c = np.empty_like(a), np.empty_like(a)
    np.sin(a[0], out=s[0])
    np.cos(a[0], out=c[0])
    last = len(a) - 1
    for k in range(1, last + 1):
        if k < last or want == "sin":
            s[k] = _chain(a, c, k)
        if k < last or want == "cos":
            c[k] = -_chain(a, s, k)
    return s if want == "sin" else c


@_elementwise(np.sin)
def sin(a):
    """sin with cos alongside."""
    return _sin_cos(a, "sin")


@_elementwise(np.cos)
def cos(a):
    """cos with sin alongside."""
    return _sin_cos(a, "cos")


def _tan_like(a, t0, u0, sign: int):
    """t' = u·a' where u = 1 + sign·t²; u_k = sign·(t²)_k for k ≥ 1 (tan: +1, tanh: −1)."""
    t, u = np.empty_like(a), np.empty_like(a)
    t[0], u[0] = t0, u0
    last = len(a) - 1
    for k in range(1, last + 1):
        t[k] = _chain(a, u, k)
        if k < last:  # u is needed one order lower than t
            square = t[0] * t[k]
            for i in range(1, k + 1):
                square = square + t[i] * t[k - i]
            u[k] = sign * square
    return t


@_elementwise(np.tan)
def tan(a):
    """t' = (1 + t²)·a'."""
    t0 = np.tan(a[0])
    return _tan_like(a, t0, 1 + t0 * t0, +1)


@_elementwise(np.tanh)
def tanh(a):
    """t' = (1 − t²)·a', with 1 − t₀² = sech² a₀ from e^(−2|a₀|): no cancellation in the tails."""
    e = np.exp(-2 * np.abs(a[0]))
    sech2 = 4 * e / ((1 + e) * (1 + e))
    return _tan_like(a, np.tanh(a[0]), sech2, -1)


def _log_rule(a, b0, l0):
    """l' = a'/b where b differs from a only in its value b₀ (b = 1 + a for log1p):
    l_k = (a_k − Σ_{j=1..k−1} (j/k) l_j a_{k−j}) / b₀."""
    lg = np.empty_like(a)
    lg[0] = l0
    for k in range(1, len(a)):
        rest = a[k]
        for j in range(1, k):
            rest = rest - (j / k) * lg[j] * a[k - j]
        np.divide(rest, b0, out=lg[k])
    return lg


@_elementwise(np.log)
def log(a):
    """l' = a'/a."""
    return _log_rule(a, a[0], np.log(a[0]))


@_elementwise(np.log1p)
def log1p(a):
    """l' = a'/(1 + a)."""
    return _log_rule(a, 1 + a[0], np.log1p(a[0]))


@_elementwise(np.sqrt)
def sqrt(a):
    """s² = a: s_k = (a_k − Σ_{j=1..k−1} s_j s_{k−j}) / 2s₀."""
    s = np.empty_like(a)
    np.sqrt(a[0], out=s[0])
    twice = 2 * s[0]
    for k in range(1, len(a)):
        rest = a[k]
        for j in range(1, k):
            rest = rest - s[j] * s[k - j]
        np.divide(rest, twice, out=s[k])
    return s


@_elementwise(np.abs)
def absolute(a):
    """|a| = sign(a₀)·a.  At the kink a₀ = 0, sign(0) = 0: every derivative there is 0 (our convention)."""
    return a * np.sign(a[0])


def _coefficient_axis(axis: int) -> int:
    """A value axis as an axis of the coefficient array, which has one more axis in front."""
    return axis + 1 if axis >= 0 else axis


def sum_over(x, axis=None):
    """``sum(x, axis=...)`` over value axes; the coefficient axis is never summed."""
    if not isinstance(x, Taylor):
        return np.sum(x, axis=axis)
    if axis is None:
        axes = tuple(range(1, x.c.ndim))
    elif isinstance(axis, tuple):
        axes = tuple(_coefficient_axis(a) for a in axis)
    else:
        axes = _coefficient_axis(axis)
    return Taylor(x.c.sum(axis=axes))


def stack(arrays, axis=0):
    """``stack(list, axis=...)`` of Taylors and constants (a constant has no derivatives)."""
    arrays = list(arrays)
    taylors = [a for a in arrays if isinstance(a, Taylor)]
    if not taylors:
        return np.stack(arrays, axis=axis)
    order = taylors[0].order
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    dtype = np.result_type(*(a.c if isinstance(a, Taylor) else a for a in arrays))
    coeffs = [np.broadcast_to(a._coeffs(len(shape)), (order + 1, *shape)) if isinstance(a, Taylor)
              else _lift(a, order, shape, dtype) for a in arrays]
    return Taylor(np.stack(coeffs, axis=_coefficient_axis(axis)))


def _value_axes_first(c: np.ndarray, ndim: int) -> np.ndarray:
    """Coefficients with leading unit value axes, so that value shapes broadcast."""
    return c.reshape(c.shape[:1] + (1,) * (ndim - (c.ndim - 1)) + c.shape[1:])


def maximum(a, b):
    """max(a, b) entrywise: the polynomial of the larger value; at a tie, a's (its convention)."""
    if not isinstance(a, Taylor) and not isinstance(b, Taylor):
        return np.maximum(a, b)
    ref = a if isinstance(a, Taylor) else b
    ca, cb = (v.c if isinstance(v, Taylor) else _lift(v, ref.order, np.shape(v), ref.dtype)
              for v in (a, b))
    ndim = max(ca.ndim, cb.ndim) - 1
    ca, cb = _value_axes_first(ca, ndim), _value_axes_first(cb, ndim)
    return Taylor(np.where(ca[:1] >= cb[:1], ca, cb))


def where(condition, a, b):
    """a where ``condition`` (of the values), else b: each entry keeps its branch's polynomial."""
    condition = _value(condition)
    if not isinstance(a, Taylor) and not isinstance(b, Taylor):
        return np.where(condition, a, b)
    ref = a if isinstance(a, Taylor) else b
    ca, cb = (v.c if isinstance(v, Taylor) else _lift(v, ref.order, np.shape(v), ref.dtype)
              for v in (a, b))
    ndim = max(ca.ndim - 1, cb.ndim - 1, np.ndim(condition))
    ca, cb = _value_axes_first(ca, ndim), _value_axes_first(cb, ndim)
    return Taylor(np.where(np.asarray(condition)[None], ca, cb))


def _extreme(x, axis, pick):
    """The entry ``pick`` (argmax / argmin) finds along ``axis``, with its whole polynomial."""
    if not isinstance(x, Taylor):
        return (np.max if pick is np.argmax else np.min)(x, axis=axis)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = axis % x.ndim
    index = np.expand_dims(pick(x.c[0], axis=axis), axis)
    taken = np.take_along_axis(x.c, np.broadcast_to(index[None], (len(x.c), *index.shape)), axis=axis + 1)
    return Taylor(np.squeeze(taken, axis=axis + 1))


def max_over(x, axis=None):
    return _extreme(x, axis, np.argmax)


def min_over(x, axis=None):
    return _extreme(x, axis, np.argmin)


def matmul(a, b):
    return a @ b


def concat(arrays, axis=0):
    """``concat(list, axis=...)`` of Taylors and constants along a value axis."""
    arrays = list(arrays)
    taylors = [a for a in arrays if isinstance(a, Taylor)]
    if not taylors:
        return np.concatenate(arrays, axis=axis)
    order, ndim = taylors[0].order, taylors[0].ndim
    dtype = np.result_type(*(a.c if isinstance(a, Taylor) else a for a in arrays))
    coeffs = [a.c if isinstance(a, Taylor) else _lift(a, order, np.shape(a), dtype) for a in arrays]
    return Taylor(np.concatenate(coeffs, axis=_coefficient_axis(axis % ndim)))


def mean(x, axis=None):
    if not isinstance(x, Taylor):
        return np.mean(x, axis=axis)
    count = int(np.prod(x.shape)) if axis is None else x.shape[axis]
    return sum_over(x, axis) / count


def reshape(x, shape):
    if not isinstance(x, Taylor):
        return np.reshape(x, shape)
    return Taylor(x.c.reshape((x.c.shape[0], *shape)))


def asarray(value, dtype=None, device=None):
    """Constants (matrices, weights) stay plain NumPy: Taylor arithmetic takes them as they are."""
    return np.asarray(value, dtype=dtype)


# The ``xp`` a case is evaluated with to differentiate it.
taylor_xp = SimpleNamespace(
    __name__="taylor",
    sin=sin, cos=cos, tan=tan, tanh=tanh, exp=exp, log=log, log1p=log1p, sqrt=sqrt, abs=absolute,
    sum=sum_over, mean=mean, stack=stack, reshape=reshape, maximum=maximum, asarray=asarray,
    where=where, max=max_over, min=min_over, matmul=matmul, concat=concat,
)
