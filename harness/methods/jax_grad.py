"""JAX: a per-point derivative program, ``vmap``-ed over the points and ``jit``-ed.

Variants: ``default`` (``grad``; ``jacrev`` for Jacobians; ``hessian``;
``jvp`` / ``vjp``), ``fwd`` (``jacfwd`` everywhere, ``jvp`` native, vjp as
uᵀ·jacfwd), ``rev`` (``jacrev`` everywhere, ``vjp`` native, jvp as
jacrev·v); ``jit=False`` is the same program run op by op, to show what jit
buys.  float64 needs ``jax_enable_x64``; float32 inputs still compute in
float32.  The timed call ends with ``block_until_ready``.
"""

import numpy as np

from harness.extend import Cell, Evaluator, Unavailable
from harness.namespaces import namespace


def _device(jax, name: str):
    platform = "gpu" if name == "gpu" else "cpu"
    try:
        return jax.devices(platform)[0]
    except RuntimeError as exc:
        raise Unavailable(f"JAX has no {platform} device: {exc}") from exc


def _per_point(jax, f, cell: Cell, variant: str, v, u):
    """The quantity at one point, as a function of that point."""
    jac = jax.jacfwd if variant == "fwd" else jax.jacrev
    d1 = jax.grad if variant == "default" else jac  # first derivative of a scalar function
    q = cell.quantity
    if q == "derivative":
        g = f
        for _ in range(cell.order):
            g = d1(g)
        return g
    if q == "gradient":
        return d1(f)
    if q == "hessian":
        return jax.hessian(f) if variant == "default" else jac(jac(f))
    if q == "jacobian":
        return jac(f)
    if q == "jvp":
        if variant == "rev":
            return lambda x: jac(f)(x) @ v
        return lambda x: jax.jvp(f, (x,), (v,))[1]
    if q == "vjp":
        if variant == "fwd":
            return lambda x: u @ jac(f)(x) if u.ndim else u * jac(f)(x)
        return lambda x: jax.vjp(f, x)[1](u)[0]
    if q == "mixed_partial":
        i, j = cell.case.mixed
        return lambda x: d1(lambda y: d1(f)(y)[i])(x)[j]
    raise ValueError(q)


def prepare(cell: Cell, variant: str = "default", jit: bool = True) -> Evaluator:
    import jax

    jax.config.update("jax_enable_x64", True)
    device = _device(jax, cell.device)
    xp = namespace("jax")
    case = cell.case
    v = jax.device_put(case.tangent().astype(cell.dtype), device)
    cot = case.cotangent().astype(cell.dtype)
    u = jax.device_put(cot[0] if case.out_dim == 1 else cot, device)

    def f(x):
        return case.fn(xp, x)

    fn = jax.vmap(_per_point(jax, f, cell, variant, v, u))
    if jit:
        fn = jax.jit(fn)
    return Evaluator(
        call=lambda x: fn(x).block_until_ready(),
        to_device=lambda a: jax.device_put(a, device),
        to_numpy=np.asarray,
    )
