"""Array namespaces that a case's ``fn(xp, x)`` is evaluated with.

NumPy, JAX and PyTorch come from ``array_api_compat`` (one standard API for
all three).  SymPy and mpmath get the same names over NumPy object arrays of
symbols or mpf numbers, so that vector cases (indexing, ``sum``, ``stack``,
``@``) run unchanged.  Every backend is imported only when its namespace is
asked for.

What a case may use: arithmetic (+ − * / ** @), indexing, the elementwise
functions in :data:`ELEMENTARY`, ``maximum(a, b)``, ``sum(x, axis=...)``,
``mean(x, axis=...)``, ``stack(list, axis=...)``, ``reshape(x, shape)`` and
:func:`constant` for arrays of data (weights, matrices).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

ELEMENTARY = ("sin", "cos", "tan", "tanh", "exp", "log", "log1p", "sqrt", "abs")
ARRAY_FUNCTIONS = ("maximum", "sum", "mean", "stack", "reshape")  # the rest of a case's API


def _elementwise(fn):
    apply = np.frompyfunc(fn, 1, 1)

    def f(x):
        return apply(x) if isinstance(x, np.ndarray) else fn(x)

    return f


def _object_namespace(name: str, table: dict, maximum) -> SimpleNamespace:
    max2 = np.frompyfunc(maximum, 2, 1)
    return SimpleNamespace(
        __name__=name,
        **{k: _elementwise(v) for k, v in table.items()},
        maximum=lambda a, b: max2(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray)
        else maximum(a, b),
        sum=lambda x, axis=None: np.sum(x, axis=axis),
        mean=lambda x, axis=None: np.sum(x, axis=axis) / (np.size(x) if axis is None else np.shape(x)[axis]),
        stack=lambda arrays, axis=0: np.stack(arrays, axis=axis),
        reshape=lambda x, shape: np.reshape(x, shape),
    )


def _sympy():
    import sympy

    table = {name: getattr(sympy, name) for name in ELEMENTARY if hasattr(sympy, name)}
    table.update(abs=sympy.Abs, log1p=lambda x: sympy.log(1 + x))
    return _object_namespace("sympy", table, sympy.Max)


def _mpmath():
    import mpmath

    table = {name: getattr(mpmath, name) for name in ELEMENTARY if name != "abs"}
    table.update(abs=mpmath.fabs)
    return _object_namespace("mpmath", table, max)


def numpy_like(module, name: str) -> SimpleNamespace:
    """The case API from a library that spells it as NumPy does (autograd.numpy, mygrad).

    Constants (``constant``) stay plain NumPy data: such libraries mix them with their
    own traced values."""
    return SimpleNamespace(
        __name__=name,
        **{f: getattr(module, f) for f in ELEMENTARY + ARRAY_FUNCTIONS},
        asarray=lambda value, dtype=None, device=None: np.asarray(value, dtype=dtype),
    )


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
        import array_api_compat.torch as xp
    else:
        raise ValueError(f"unknown backend {backend!r}")
    return xp


def constant(xp, value, like):
    """``value`` (NumPy data) as an array of ``xp`` matching ``like``'s dtype and device.

    In SymPy and mpmath it becomes an object array of exact binary values
    (Python floats), so the reference sees exactly the numbers the methods see.
    """
    value = np.asarray(value)
    if isinstance(like, np.ndarray) and like.dtype == object or not hasattr(like, "dtype"):
        first = like.flat[0] if isinstance(like, np.ndarray) else like
        if type(first).__module__.startswith("sympy"):  # exact binary values, not 15-digit Floats
            import sympy

            return np.vectorize(sympy.Rational, otypes=[object])(value.astype(float))
        return value.astype(float).astype(object)
    if not hasattr(like, "device"):  # tracers of autograd / mygrad: host arrays
        return xp.asarray(value, dtype=like.dtype)
    from array_api_compat import device

    return xp.asarray(value, dtype=like.dtype, device=device(like))
