"""JAX: ``jit(vmap(grad(...)))``, nested ``grad`` for higher orders.

float64 needs ``jax_enable_x64``; float32 inputs still compute in float32.
The timed call ends with ``block_until_ready``.
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


def prepare(cell: Cell) -> Evaluator:
    import jax

    jax.config.update("jax_enable_x64", True)
    device = _device(jax, cell.device)
    xp = namespace("jax")

    def g(x):
        return cell.case.fn(xp, x)

    for _ in range(cell.order):
        g = jax.grad(g)
    fn = jax.jit(jax.vmap(g))
    return Evaluator(
        call=lambda x: fn(x).block_until_ready(),
        to_device=lambda a: jax.device_put(a, device),
        to_numpy=np.asarray,
    )
