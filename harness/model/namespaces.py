"""Array namespaces that a case's ``fn(xp, x)`` is evaluated with.

NumPy, JAX and PyTorch come from ``array_api_compat`` (one standard API for
all three).  SymPy and mpmath get the same names over NumPy object arrays of
symbols or mpf numbers, so that vector cases (indexing, ``sum``, ``stack``,
``@``) run unchanged.  Every backend is imported only when its namespace is
asked for.

What a case may use: arithmetic (+ − * / ** @), indexing (slices, and integer
arrays of data), the elementwise functions in :data:`ELEMENTARY`, ``maximum(a, b)``,
``where(condition, a, b)``, ``sum(x, axis=...)``, ``mean(x, axis=...)``,
``max(x, axis=...)``, ``min(x, axis=...)``, ``matmul(a, b)``, ``stack(list, axis=...)``,
``concat(list, axis=...)``,
``reshape(x, shape)``, :func:`constant` for arrays of data (weights, matrices),
:func:`logsumexp`, built here from those primitives once for every namespace, and
:func:`scan` for a loop over a sequence (a compiled loop where the library has one).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np

TORCH_CONSTANTS = 64  # PyTorch tensors made from a case's data, kept for the next call

ELEMENTARY = ("sin", "cos", "tan", "tanh", "exp", "log", "log1p", "sqrt", "abs")
# the rest of a case's API
ARRAY_FUNCTIONS = ("maximum", "where", "sum", "mean", "max", "min", "matmul", "stack", "reshape")
# spelled differently by some libraries: concat(list, axis=...) is NumPy's concatenate


def _elementwise(fn):
    apply = np.frompyfunc(fn, 1, 1)

    def f(x):
        return apply(x) if isinstance(x, np.ndarray) else fn(x)

    return f


def _reduce(ufunc, x, axis):
    """``ufunc.reduce`` over ``axis``, or over every entry for None."""
    found = ufunc.reduce(np.ravel(x), axis=0) if axis is None else ufunc.reduce(x, axis=axis)
    return found if isinstance(found, np.ndarray) else np.array(found, dtype=object)  # 0-d, indexable


def as_scalar(value):
    """A 0-d object array (an object namespace's reduction, or an index with ``...``) as the
    number it holds; anything else unchanged."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def object_namespace(name: str, table: dict, maximum, minimum, choose) -> SimpleNamespace:
    """The case API over NumPy object arrays of ``table``'s numbers (scalar functions applied
    entrywise).  ``choose(condition, a, b)``: the scalar ``where`` (SymPy's is a Piecewise, an exact
    expression; mpmath's picks the branch at the point)."""
    max2, min2 = np.frompyfunc(maximum, 2, 1), np.frompyfunc(minimum, 2, 1)
    where3 = np.frompyfunc(choose, 3, 1)
    return SimpleNamespace(
        __name__=name,
        **{k: _elementwise(v) for k, v in table.items()},
        maximum=lambda a, b: max2(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray)
        else maximum(a, b),
        where=lambda c, a, b: where3(c, a, b) if any(isinstance(v, np.ndarray) for v in (c, a, b))
        else choose(c, a, b),
        max=lambda x, axis=None: _reduce(max2, x, axis),
        min=lambda x, axis=None: _reduce(min2, x, axis),
        matmul=lambda a, b: a @ b,
        concat=lambda arrays, axis=0: np.concatenate(arrays, axis=axis),
        sum=lambda x, axis=None: np.sum(x, axis=axis),
        mean=lambda x, axis=None: np.sum(x, axis=axis) / (np.size(x) if axis is None else np.shape(x)[axis]),
        stack=lambda arrays, axis=0: np.stack(arrays, axis=axis),
        reshape=lambda x, shape: np.reshape(x, shape),
    )


def _sympy():
    import sympy

    table = {name: getattr(sympy, name) for name in ELEMENTARY if hasattr(sympy, name)}
    table.update(abs=sympy.Abs, log1p=lambda x: sympy.log(1 + x))
    return object_namespace("sympy", table, sympy.Max, sympy.Min,
                             lambda c, a, b: sympy.Piecewise((a, c), (b, True)))


def _mpmath():
    import mpmath

    table = {name: getattr(mpmath, name) for name in ELEMENTARY if name != "abs"}
    table.update(abs=mpmath.fabs)
    return object_namespace("mpmath", table, max, min, lambda c, a, b: a if c else b)


def numpy_like(module, name: str) -> SimpleNamespace:
    """The case API from a library that spells it as NumPy does (autograd.numpy, mygrad).

    Constants (``constant``) stay plain NumPy data: such libraries mix them with their
    own traced values."""
    return SimpleNamespace(
        __name__=name,
        **{f: getattr(module, f) for f in ELEMENTARY + ARRAY_FUNCTIONS},
        concat=lambda arrays, axis=0: module.concatenate(arrays, axis=axis),
        asarray=lambda value, dtype=None, device=None: np.asarray(value, dtype=dtype),
    )


@functools.cache  # built once per process: every cell's prepare asks for it
def _torch() -> SimpleNamespace:
    """``array_api_compat.torch``, with ``max`` and ``min`` over one axis as ``torch.max(x, dim)`` and
    ``torch.min(x, dim)``, what a PyTorch user writes (``.min(dim=1).values``).  Their backward pass
    routes the gradient to the index chosen; ``amax``/``amin``'s, which the standard's names map to,
    spreads it over ties with a comparison and a division of the whole input (kmeans' gradient at
    k = 100, n = 1000 ran 1.8× slower so, benchmarks/fairness).  Only a tie tells them apart, where
    both give a subgradient."""
    import array_api_compat.torch as compat
    import torch

    def along_one_axis(chosen, standard):
        def reduce(x, /, *, axis=None, keepdims=False):
            if isinstance(axis, int):
                return chosen(x, dim=axis, keepdim=keepdims).values
            return standard(x, axis=axis, keepdims=keepdims)

        return reduce

    names = {name: getattr(compat, name) for name in dir(compat) if not name.startswith("__")}
    names.update(__name__=compat.__name__, max=along_one_axis(torch.max, compat.max),
                 min=along_one_axis(torch.min, compat.min))
    return SimpleNamespace(**names)


def namespace(backend: str):
    """The namespace ``xp`` for ``backend``: numpy, jax, torch, sympy or mpmath."""
    if backend == "sympy":
        return _sympy()
    if backend == "mpmath":
        return _mpmath()
    if backend == "numpy":
        import array_api_compat.numpy as xp
    elif backend == "jax":
        import jax.numpy as xp  # JAX's own namespace is the standard one
    elif backend == "torch":
        return _torch()
    else:
        raise ValueError(f"unknown backend {backend!r}")
    return xp


def logsumexp(xp, x, axis: int = -1, library: bool = False):
    """log Σ exp(x) over ``axis`` (−1 or −2), from primitives, shifted by the largest entry so
    that no exp overflows: m + log Σ exp(x − m).  The shift's own derivative cancels (it
    enters as m − m·Σ softmax = 0), so every namespace differentiates it as written.

    ``library``: where the library has its own (``torch.logsumexp``, ``jax.nn.logsumexp``, one
    operation with its own derivative, what its users call), use it; a workload that only uses a
    logsumexp (gmm) takes it, one whose spec asks for the primitives (lse) does not."""
    if axis not in (-1, -2):
        raise ValueError("logsumexp: axis must be -1 or -2")
    if library:
        name = getattr(xp, "__name__", "")
        if name == "array_api_compat.torch":
            import torch

            return torch.logsumexp(x, dim=axis)
        if name == "jax.numpy":
            import jax

            return jax.nn.logsumexp(x, axis=axis)
    m = xp.max(x, axis=axis)
    spread = m[..., None] if axis == -1 else m[..., None, :]
    return m + xp.log(xp.sum(xp.exp(x - spread), axis=axis))


def constant(xp, value, like):
    """``value`` (NumPy data) as an array of ``xp`` matching ``like``'s dtype and device.

    In SymPy and mpmath it becomes an object array of exact binary values
    (Python floats), so the reference sees exactly the numbers the methods see.
    """
    torch_like = type(like).__module__.partition(".")[0] == "torch"
    if torch_like:
        key = (id(value), like.dtype, like.device)
        made = _TorchTensors.made.get(key)
        if made is not None and made[0] is value:  # a PyTorch tensor made from this array before
            _TorchTensors.made.move_to_end(key)
            return made[1]
    value = np.asarray(value)
    if hasattr(xp, "constant"):  # a namespace with data of its own kind (quad precision)
        return xp.constant(value)
    if isinstance(like, np.ndarray) and like.dtype == object or not hasattr(like, "dtype"):
        first = like.flat[0] if isinstance(like, np.ndarray) else like
        if type(first).__module__.startswith("sympy"):  # exact binary values, not 15-digit Floats
            import sympy

            return np.vectorize(sympy.Rational, otypes=[object])(value.astype(float))
        return value.astype(float).astype(object)
    if not hasattr(like, "device"):  # tracers of autograd / mygrad: host arrays
        return xp.asarray(value, dtype=like.dtype)
    if torch_like:
        return _torch_constant(value, like)
    from array_api_compat import device

    return xp.asarray(value, dtype=like.dtype, device=device(like))


class _TorchTensors:
    """The PyTorch tensors made from a case's data by :func:`constant`, the array they were made from
    beside each.  A class rather than a module's dict: a reference's cache key walks the data a
    case's functions name, and these come and go with what a process has run."""

    made: OrderedDict = OrderedDict()


def _torch_constant(value: np.ndarray, like):
    """``value`` as a PyTorch tensor, made once per array of data rather than in every call.

    PyTorch runs eagerly, so a case's data converted inside ``fn`` was converted at every call:
    what a PyTorch user does once, before the loop.  JAX and TensorFlow compile the conversion
    away.  The tensor is kept, least recently used out first, under the array's identity (the
    array held, so that its identity is not reused while the entry lives; a view made afresh in
    every call, such as ``a.T``, is converted every time: cases keep their data as arrays of their
    own).  A case's data is never written in place.  Under ``torch.compile`` nothing is kept: the
    compiler sees a plain conversion.
    """
    import torch

    made = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if torch.compiler.is_compiling():
        return made
    _TorchTensors.made[id(value), like.dtype, like.device] = (value, made)
    if len(_TorchTensors.made) > TORCH_CONSTANTS:
        _TorchTensors.made.popitem(last=False)
    return made


def scan(xp, step, carry, xs: tuple):
    """``carry = step(carry, (a[t] for a in xs))`` for t along the first axis of ``xs``; the last carry.

    ``carry`` is a tuple of arrays whose shapes and dtypes ``step`` keeps.  JAX runs it as
    ``lax.scan`` and a namespace with a ``fold`` of its own (TensorFlow's ``foldl``) as that: a
    compiler traces the step once, where a Python loop of c steps is unrolled into c copies
    (XLA took minutes to compile an LSTM of 64 characters so).  Everything else loops in Python.
    """
    if getattr(xp, "__name__", "") == "jax.numpy":
        import jax

        return jax.lax.scan(lambda c, x: (step(c, x), None), carry, xs)[0]
    if hasattr(xp, "fold"):
        return xp.fold(step, carry, xs)
    for t in range(int(xs[0].shape[0])):
        carry = step(carry, tuple(a[t] for a in xs))
    return carry
