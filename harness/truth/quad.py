"""Forward-mode Taylor arithmetic in IEEE quad precision: the reference that scales.

mpmath at 60 digits evaluates every entry of a derivative, but it cannot afford the gradient
of a 10⁵-parameter GMM.  This module evaluates a case once in IEEE binary128 (113-bit
significand, about 33 significant digits; ``numpy-quaddtype``, vectorised) carrying, for D
directions u at once, the Taylor coefficients of t ↦ f(x + t·u) up to order 2:

    f(x + t·u) = c0 + c1·t + c2·t² + O(t³),   c1 = ∇f·u (J·u),   c2 = ½ uᵀ∇²f u.

So one evaluation gives D directional derivatives (and D curvatures) of the whole case.
Each elementary function propagates its jet by the chain rule with its closed-form
first and second derivatives (g(c0), g′(c0)·c1, g′(c0)·c2 + ½g″(c0)·c1²), products by the
Leibniz rule.  It shares no code with the methods under test (the ``dual`` method's
Taylor engine uses the recurrences of Griewank & Walther, ch. 13, at any order): an
independent reference.  Comparisons (``where``, ``max``) take the branch of the value.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

SMALL_POWERS = (0, 1, 2, 3, 4)  # integer powers done by repeated multiplication (exact, any sign)


def quad_dtype():
    """numpy-quaddtype's binary128 dtype (ImportError with a hint when it is not installed)."""
    try:
        import numpy_quaddtype
    except ImportError as exc:
        raise ImportError(f"the scalable reference needs numpy-quaddtype ({exc})") from exc
    return numpy_quaddtype.QuadPrecDType()


def to_quad(value) -> np.ndarray:
    """float64 data as binary128: exact (every double is a quad)."""
    return np.asarray(value, dtype=np.float64).astype(quad_dtype())


def split(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A quad array as double-double (hi, lo): hi the nearest float64, lo the remainder."""
    hi = q.astype(np.float64)
    return hi, (q - hi.astype(q.dtype)).astype(np.float64)


class Jet:
    """A value (shape S) with first and second Taylor coefficients along D directions,
    shapes (D, *S); ``c2`` is None when only first derivatives are asked for.

    A *mixed* jet (:func:`mixed_taylor`) has one direction more in ``c1`` than in ``c2``:
    ``c1`` holds the derivative along v, then along each w_d, and ``c2`` the mixed second
    derivatives w_dᵀH·v — the coefficient of ε₁ε₂ in f(x + ε₁v + ε₂w_d).  Only the
    products of first-order parts differ (:func:`_product_term`); every linear operation
    treats both kinds alike."""

    __array_ufunc__ = None  # NumPy operators defer to ours rather than making object arrays
    __array_priority__ = 1000.0

    def __init__(self, c0, c1, c2=None):
        self.c0, self.c1, self.c2 = c0, c1, c2

    @property
    def shape(self) -> tuple:
        return self.c0.shape

    @property
    def ndim(self) -> int:
        return self.c0.ndim

    @property
    def mixed(self) -> bool:
        return self.c2 is not None and self.c2.shape[0] != self.c1.shape[0]

    def _aligned(self, ndim: int):
        """c1, c2 with unit axes after the direction axis, to broadcast against ``ndim``-d values."""
        missing = ndim - self.ndim
        if missing <= 0:
            return self.c1, self.c2

        def pad(c):
            return None if c is None else c.reshape((c.shape[0],) + (1,) * missing + c.shape[1:])

        return pad(self.c1), pad(self.c2)

    # -- arithmetic -------------------------------------------------------------
    def __neg__(self):
        return Jet(-self.c0, -self.c1, None if self.c2 is None else -self.c2)

    def __pos__(self):
        return self

    def __add__(self, other):
        if not isinstance(other, Jet):
            return Jet(self.c0 + _const(other), *self._aligned(np.ndim(other)))
        nd = max(self.ndim, other.ndim)
        (a1, a2), (b1, b2) = self._aligned(nd), other._aligned(nd)
        return Jet(self.c0 + other.c0, a1 + b1, _sum2(a2, b2))

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if not isinstance(other, Jet):
            b = _const(other)
            a1, a2 = self._aligned(np.ndim(b))
            return Jet(self.c0 * b, a1 * b, None if a2 is None else a2 * b)
        nd = max(self.ndim, other.ndim)
        (a1, a2), (b1, b2) = self._aligned(nd), other._aligned(nd)
        second = None if a2 is None else a2 * other.c0 + _product_term(a1, b1, self.mixed) + self.c0 * b2
        return Jet(self.c0 * other.c0, a1 * other.c0 + self.c0 * b1, second)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if not isinstance(other, Jet):
            b = _const(other)
            a1, a2 = self._aligned(np.ndim(b))
            return Jet(self.c0 / b, a1 / b, None if a2 is None else a2 / b)
        return self * _reciprocal(other)

    def __rtruediv__(self, other):
        return _reciprocal(self) * _const(other)

    def __pow__(self, exponent):
        if isinstance(exponent, Jet):
            return exp(exponent * log(self))
        p = float(exponent)
        if p.is_integer() and int(p) in SMALL_POWERS:
            result = Jet(np.ones_like(self.c0), np.zeros_like(self.c1),
                         None if self.c2 is None else np.zeros_like(self.c2))
            for _ in range(int(p)):
                result = result * self
            return result
        x = self.c0
        return _chain(self, x**p, p * x ** (p - 1), p * (p - 1) * x ** (p - 2))

    def __rpow__(self, base):
        return exp(self * log(_const(base)))

    def __matmul__(self, other):
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        full = (slice(None), *key)  # the direction axis is always kept
        return Jet(self.c0[key], self.c1[full], None if self.c2 is None else self.c2[full])

    # comparisons are of the values: the branch taken at the point
    def __lt__(self, other):
        return self.c0 < _value(other)

    def __le__(self, other):
        return self.c0 <= _value(other)

    def __gt__(self, other):
        return self.c0 > _value(other)

    def __ge__(self, other):
        return self.c0 >= _value(other)


def _value(v):
    return v.c0 if isinstance(v, Jet) else v


def _const(v):
    """A constant operand in quad (Python and NumPy floats are exact in binary128)."""
    if isinstance(v, np.ndarray) and v.dtype == quad_dtype():
        return v
    return to_quad(v)


def _sum2(a, b):
    return None if a is None else a + b


def _product_term(a1, b1, mixed: bool):
    """The second-order term a product gets from its factors' first-order parts: a1·b1
    along each direction of a Taylor jet; a_v·b_w + a_w·b_v of a mixed jet (direction 0 is v)."""
    if not mixed:
        return a1 * b1
    return a1[:1] * b1[1:] + a1[1:] * b1[:1]


def _chain(a: Jet, g0, g1, g2) -> Jet:
    """g(a) from g and its first two derivatives at a's value."""
    second = None if a.c2 is None else g1 * a.c2 + (g2 / 2) * _product_term(a.c1, a.c1, a.mixed)
    return Jet(g0, g1 * a.c1, second)


def _reciprocal(a: Jet) -> Jet:
    r = 1 / a.c0
    return _chain(a, r, -r * r, 2 * r * r * r)


def _unary(numpy_fn, derivatives):
    """An elementary function: NumPy's on plain arrays, the chain rule on a Jet."""

    def f(a):
        if not isinstance(a, Jet):
            return numpy_fn(a)
        return _chain(a, *derivatives(a.c0))

    return f


def _exp_derivatives(x):
    e = np.exp(x)
    return e, e, e


def _tanh_derivatives(x):
    t = np.tanh(x)
    d = 1 - t * t
    return t, d, -2 * t * d


def _tan_derivatives(x):
    t = np.tan(x)
    d = 1 + t * t
    return t, d, 2 * t * d


def _sqrt_derivatives(x):
    s = np.sqrt(x)
    return s, 1 / (2 * s), -1 / (4 * s * s * s)


exp = _unary(np.exp, _exp_derivatives)
log = _unary(np.log, lambda x: (np.log(x), 1 / x, -1 / (x * x)))
log1p = _unary(np.log1p, lambda x: (np.log1p(x), 1 / (1 + x), -1 / ((1 + x) * (1 + x))))
sqrt = _unary(np.sqrt, _sqrt_derivatives)
sin = _unary(np.sin, lambda x: (np.sin(x), np.cos(x), -np.sin(x)))
cos = _unary(np.cos, lambda x: (np.cos(x), -np.sin(x), -np.cos(x)))
tan = _unary(np.tan, _tan_derivatives)
tanh = _unary(np.tanh, _tanh_derivatives)


def absolute(a):
    return a * np.sign(_value(a))


def where(condition, a, b):
    """a where ``condition`` holds, else b, each entry with its branch's derivatives."""
    condition = np.asarray(_value(condition))
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return np.where(condition, _const(a), _const(b))
    ref = a if isinstance(a, Jet) else b
    nd = max(np.ndim(_value(a)), np.ndim(_value(b)), condition.ndim)

    def parts(v):
        if isinstance(v, Jet):
            return (v.c0, *v._aligned(nd))
        return _const(v), 0, 0

    (a0, a1, a2), (b0, b1, b2) = parts(a), parts(b)
    second = None if ref.c2 is None else np.where(condition, a2, b2)
    return Jet(np.where(condition, a0, b0), np.where(condition, a1, b1), second)


def maximum(a, b):
    return where(_value(a) >= _value(b), a, b)


def _extreme(x, axis, pick):
    if not isinstance(x, Jet):
        return (np.max if pick is np.argmax else np.min)(x, axis=axis)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis %= x.ndim
    index = np.expand_dims(pick(x.c0, axis=axis), axis)

    def take(c):
        if c is None:
            return None
        idx = np.broadcast_to(index[None], (c.shape[0], *index.shape))
        return np.squeeze(np.take_along_axis(c, idx, axis=axis + 1), axis + 1)

    return Jet(np.squeeze(np.take_along_axis(x.c0, index, axis=axis), axis), take(x.c1), take(x.c2))


def max_over(x, axis=None):
    return _extreme(x, axis, np.argmax)


def min_over(x, axis=None):
    return _extreme(x, axis, np.argmin)


def _direction_axis(axis):
    if axis is None:
        return None
    if isinstance(axis, tuple):
        return tuple(a + 1 if a >= 0 else a for a in axis)
    return axis + 1 if axis >= 0 else axis


def sum_over(x, axis=None):
    if not isinstance(x, Jet):
        return np.sum(x, axis=axis)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    inner = _direction_axis(axis)
    return Jet(np.sum(x.c0, axis=axis), np.sum(x.c1, axis=inner),
               None if x.c2 is None else np.sum(x.c2, axis=inner))


def mean(x, axis=None):
    count = int(np.prod(np.shape(_value(x)))) if axis is None else np.shape(_value(x))[axis]
    return sum_over(x, axis) / count


def reshape(x, shape):
    if not isinstance(x, Jet):
        return np.reshape(x, shape)
    return Jet(np.reshape(x.c0, shape), np.reshape(x.c1, (x.c1.shape[0], *shape)),
               None if x.c2 is None else np.reshape(x.c2, (x.c2.shape[0], *shape)))


def stack(arrays, axis=0):
    arrays = list(arrays)
    jets = [a for a in arrays if isinstance(a, Jet)]
    if not jets:
        return np.stack([_const(a) for a in arrays], axis=axis)
    shape = np.broadcast_shapes(*(np.shape(_value(a)) for a in arrays))
    second = jets[0].c2 is not None
    d = [None, jets[0].c1.shape[0], jets[0].c2.shape[0] if second else None]  # directions of c1, c2

    def lift(a, k):
        if isinstance(a, Jet):
            c = (a.c0, *a._aligned(len(shape)))[k]
            return np.broadcast_to(c, shape if k == 0 else (d[k], *shape))
        return np.broadcast_to(_const(a), shape) if k == 0 else to_quad(np.zeros((d[k], *shape)))

    inner = axis + 1 if axis >= 0 else axis
    return Jet(np.stack([lift(a, 0) for a in arrays], axis=axis),
               np.stack([lift(a, 1) for a in arrays], axis=inner),
               np.stack([lift(a, 2) for a in arrays], axis=inner) if second else None)


def qmatmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """NumPy's matmul semantics on quad arrays.  numpy-quaddtype multiplies 2-d operands
    right but not batched (≥ 3-d) ones, nor a vector on the left: vectors become 1-row or
    1-column matrices and the batch axes are looped over here."""
    x_vec, y_vec = x.ndim == 1, y.ndim == 1
    x2 = x[None, :] if x_vec else x
    y2 = y[:, None] if y_vec else y
    batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
    xb = np.broadcast_to(x2, batch + x2.shape[-2:])
    yb = np.broadcast_to(y2, batch + y2.shape[-2:])
    out = np.empty(batch + (x2.shape[-2], y2.shape[-1]), dtype=x.dtype)
    for index in np.ndindex(*batch):
        # contiguous copies: its matmul misreads strided views (a transpose, a broadcast)
        out[index] = np.matmul(np.ascontiguousarray(xb[index]), np.ascontiguousarray(yb[index]))
    if y_vec:
        out = out[..., 0]
    if x_vec:
        out = out[..., 0, :] if not y_vec else out[..., 0]
    return out


def concat(arrays, axis=0):
    arrays = list(arrays)
    jets = [a for a in arrays if isinstance(a, Jet)]
    if not jets:
        return np.concatenate([_const(a) for a in arrays], axis=axis)
    second, ndim = jets[0].c2 is not None, jets[0].ndim
    d = [None, jets[0].c1.shape[0], jets[0].c2.shape[0] if second else None]  # directions of c1, c2
    axis %= ndim

    def part(a, k):
        if isinstance(a, Jet):
            return (a.c0, a.c1, a.c2)[k]
        a = _const(a)
        return a if k == 0 else to_quad(np.zeros((d[k], *a.shape)))

    return Jet(np.concatenate([part(a, 0) for a in arrays], axis=axis),
               np.concatenate([part(a, 1) for a in arrays], axis=axis + 1),
               np.concatenate([part(a, 2) for a in arrays], axis=axis + 1) if second else None)


def _mm(x, y, x_dir: bool, y_dir: bool):
    """x @ y where either operand may carry the direction axis in front: both operands get
    one (of size 1 where absent) and equal numbers of batch axes, so that matmul's batch
    broadcasting lines the direction axes up; vectors become 1-row / 1-column matrices."""
    xv = x.shape[1:] if x_dir else x.shape
    yv = y.shape[1:] if y_dir else y.shape
    x = x if x_dir else x[None]
    y = y if y_dir else y[None]
    x_vec, y_vec = len(xv) == 1, len(yv) == 1
    if x_vec:
        x = x[..., None, :]
    if y_vec:
        y = y[..., :, None]
    nd = max(x.ndim, y.ndim)
    x = x.reshape(x.shape[:1] + (1,) * (nd - x.ndim) + x.shape[1:])
    y = y.reshape(y.shape[:1] + (1,) * (nd - y.ndim) + y.shape[1:])
    out = qmatmul(x, y)
    if y_vec:
        out = out[..., 0]
    if x_vec:
        out = out[..., 0, :] if not y_vec else out[..., 0]
    return out


def _matmul(a, b):
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return qmatmul(_const(a), _const(b))
    if not isinstance(b, Jet):
        b = _const(b)
        return Jet(qmatmul(a.c0, b), _mm(a.c1, b, True, False),
                   None if a.c2 is None else _mm(a.c2, b, True, False))
    if not isinstance(a, Jet):
        a = _const(a)
        return Jet(qmatmul(a, b.c0), _mm(a, b.c1, False, True),
                   None if b.c2 is None else _mm(a, b.c2, False, True))
    first = _mm(a.c1, b.c0, True, False) + _mm(a.c0, b.c1, False, True)
    second = None
    if a.c2 is not None:
        if a.mixed:  # a_v @ b_w + a_w @ b_v
            cross = _mm(a.c1[:1], b.c1[1:], True, True) + _mm(a.c1[1:], b.c1[:1], True, True)
        else:
            cross = _mm(a.c1, b.c1, True, True)
        second = _mm(a.c2, b.c0, True, False) + cross + _mm(a.c0, b.c2, False, True)
    return Jet(qmatmul(a.c0, b.c0), first, second)


# The ``xp`` a case is evaluated with for the scalable reference.
quad_xp = SimpleNamespace(
    __name__="quad",
    sin=sin, cos=cos, tan=tan, tanh=tanh, exp=exp, log=log, log1p=log1p, sqrt=sqrt, abs=absolute,
    maximum=maximum, where=where, sum=sum_over, mean=mean, max=max_over, min=min_over,
    matmul=_matmul, stack=stack, concat=concat, reshape=reshape,
    constant=to_quad, asarray=lambda value, dtype=None, device=None: to_quad(value),
)


def taylor(case, point: np.ndarray, directions: np.ndarray, second: bool = False):
    """(c0, c1, c2) of the case at one point (float64, shape (n,) — or () for a scalar case)
    along each row of ``directions`` (D, n): c0 of the output's shape, c1 and c2 with D in
    front, as quad arrays (c2 None unless ``second``)."""
    x0 = to_quad(point)
    u = to_quad(directions)
    seed = Jet(x0, u, to_quad(np.zeros_like(directions)) if second else None)
    y = case.fn(quad_xp, seed)
    if not isinstance(y, Jet):  # the case does not depend on x at all
        y = Jet(_const(y), to_quad(np.zeros((len(directions), *np.shape(y)))))
    return y.c0, y.c1, y.c2


def mixed_taylor(case, point: np.ndarray, v: np.ndarray, directions: np.ndarray):
    """(f, w_dᵀH·v for each row w_d of ``directions`` (D, n)) of the case at one point, as quad
    arrays: the ε₁ε₂ coefficients of f(x + ε₁v + ε₂w_d), pushed forward in one evaluation
    (half the work of polarisation's 2D second-order directions)."""
    x0 = to_quad(point)
    u = to_quad(np.concatenate([np.reshape(v, (1, -1)), directions]))
    seed = Jet(x0, u, to_quad(np.zeros_like(directions)))
    y = case.fn(quad_xp, seed)
    if not isinstance(y, Jet):
        return _const(y), to_quad(np.zeros((len(directions), *np.shape(y))))
    return y.c0, y.c2
