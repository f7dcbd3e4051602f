"""Array namespaces that a case's ``fn(xp, x)`` is evaluated with.

NumPy, JAX and PyTorch come from ``array_api_compat`` (one standard API for
all three); SymPy and mpmath get a small table of the same elementwise names.
Every backend is imported only when its namespace is asked for.
"""

from __future__ import annotations

from types import SimpleNamespace

# The functions a case may use besides + - * / ** (and constants pi, e).
ELEMENTARY = ("sin", "cos", "tan", "tanh", "exp", "log", "log1p", "sqrt", "abs")


def _sympy():
    import sympy

    table = {name: getattr(sympy, name) for name in ELEMENTARY if hasattr(sympy, name)}
    table.update(abs=sympy.Abs, log1p=lambda x: sympy.log(1 + x), pi=sympy.pi, e=sympy.E)
    return SimpleNamespace(**table)


def _mpmath():
    import mpmath

    table = {name: getattr(mpmath, name) for name in ELEMENTARY if name != "abs"}
    table.update(abs=mpmath.fabs, pi=mpmath.pi, e=mpmath.e)
    return SimpleNamespace(**table)


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
