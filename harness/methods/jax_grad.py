"""JAX: a per-point derivative program, ``vmap``-ed over the points and ``jit``-ed.

Variants: ``default`` (``grad``; ``jacrev`` for Jacobians; ``hessian``;
``jvp`` / ``vjp``), ``fwd`` (``jacfwd`` everywhere, ``jvp`` native, vjp as
uᵀ·jacfwd), ``rev`` (``jacrev`` everywhere, ``vjp`` native, jvp as
jacrev·v); ``jit=False`` is the same program run op by op, to show what jit
buys.  float64 needs ``jax_enable_x64``; float32 inputs still compute in
float32.  The timed call ends with ``block_until_ready``.
"""

import time

import numpy as np

from harness.model.method import Cell, Evaluator, Unavailable
from harness.model.namespaces import namespace


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
        return _over_parameters(jax, f, cell.case, d1) if cell.case.parameters else d1(f)
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
    if q == "hvp":
        return _hvp(jax, f, variant, v)
    raise ValueError(q)


def _hvp(jax, f, variant: str, v):
    """H·v three ways: forward-over-reverse (jvp of grad, the default), reverse-over-reverse
    (grad of ∇f·v, jax-rev) and reverse-over-forward (grad of the jvp, jax-fwd)."""
    if variant == "rev":
        return jax.grad(lambda x: jax.numpy.vdot(jax.grad(f)(x), v))
    if variant == "fwd":
        return jax.grad(lambda x: jax.jvp(f, (x,), (v,))[1])
    return lambda x: jax.jvp(jax.grad(f), (x,), (v,))[1]


def _over_parameters(jax, f, case, d1):
    """∇f taken with respect to the dict {name: block} (a pytree), flattened back in θ's order."""
    jnp = jax.numpy
    blocks = case.blocks()

    def flat(tree):
        return jnp.concatenate([jnp.reshape(tree[name], (-1,)) for name, _, _ in blocks])

    g = d1(lambda params: f(flat(params)))
    return lambda x: flat(g({name: jnp.reshape(x[part], shape) for name, part, shape in blocks}))


def prepare(cell: Cell, variant: str = "default", jit: bool = True) -> Evaluator:
    import jax

    jax.config.update("jax_enable_x64", True)
    device = _device(jax, cell.device)
    xp = namespace("jax")
    case = cell.case
    if cell.quantity == "jacobian" and case.sparsity is not None:
        from harness.methods.coloured import prepare_jax, prepare_jax_separable

        if case.separable is not None and variant != "fwd":  # reverse mode, group by group
            return prepare_jax_separable(jax, cell, device, jit)
        return prepare_jax(jax, cell, device, jit)
    v = jax.device_put(case.tangent().astype(cell.dtype), device)
    cot = case.cotangent().astype(cell.dtype)
    u = jax.device_put(cot[0] if case.out_dim == 1 else cot, device)

    def f(x):
        return case.fn(xp, x)

    fn = _over_points(jax, _per_point(jax, f, cell, variant, v, u))
    primal = _over_points(jax, f)
    if jit:
        fn, primal = jax.jit(fn), jax.jit(primal)
    program = {"call": fn}

    def compile_ahead(xd) -> dict:
        """Trace and lower (derive_s), then compile (compile_s) for this input; XLA's estimates."""
        t0 = time.perf_counter()
        lowered = fn.lower(xd)
        traced_s = time.perf_counter() - t0
        compiled = program["call"] = lowered.compile()
        return {"derive_s": traced_s, **_xla_figures(compiled)}

    return Evaluator(
        call=lambda x: program["call"](x).block_until_ready(),
        to_device=lambda a: jax.device_put(a, device).block_until_ready(),
        to_numpy=np.asarray,
        primal=lambda x: primal(x).block_until_ready(),
        compile=compile_ahead if jit else None,
        describe=lambda: {"graph_nodes": _equations(jax.make_jaxpr(fn)(np.zeros((1, *_point_shape(case)),
                                                                             cell.dtype)).jaxpr)},
    )


def _over_points(jax, per_point):
    """``per_point`` over the points (the leading axis): ``vmap``-ed, or for a single point applied
    to it alone (the shape is static under ``jit``, so the choice is made when tracing), as a JAX
    user differentiates one θ: a batch of one made XLA's products batched ones, 1.2–1.4× the time of
    a small workload's gradient (benchmarks/fairness)."""
    batched = jax.vmap(per_point)

    def over_points(x):
        if x.shape[0] == 1:
            return per_point(x[0])[None]
        return batched(x)

    return over_points


def _point_shape(case) -> tuple:
    return () if case.dim == 1 else (case.dim,)


def _equations(jaxpr) -> int:
    """Equations of a jaxpr, counting those inside sub-jaxprs (pjit, custom_jvp, scan, …)."""
    from jax.extend.core import ClosedJaxpr, Jaxpr

    total = 0
    for eqn in jaxpr.eqns:
        subs = [p for p in eqn.params.values() if isinstance(p, (Jaxpr, ClosedJaxpr))]
        if subs:
            total += sum(_equations(s.jaxpr if isinstance(s, ClosedJaxpr) else s) for s in subs)
        else:
            total += 1
    return total


def _xla_figures(compiled) -> dict:
    """XLA's flop estimate and the memory the program needs (arguments + outputs + temporaries)."""
    figures = {}
    try:
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        if cost and cost.get("flops", -1) >= 0:
            figures["flops"] = float(cost["flops"])
    except Exception:  # an estimate some backends do not give
        pass
    try:
        mem = compiled.memory_analysis()
        figures["xla_bytes"] = int(mem.argument_size_in_bytes + mem.output_size_in_bytes
                                   + mem.temp_size_in_bytes)
    except Exception:
        pass
    return figures
